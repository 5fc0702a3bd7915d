"""INSTALLED_APPS entry of the admin (instead of django.contrib.admin): the same app with opusof's site."""

from django.contrib.admin.apps import AdminConfig


class OpusofAdminConfig(AdminConfig):
    default_site = "opusof.admin_site.OpusofAdminSite"
