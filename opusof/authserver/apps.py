from django.apps import AppConfig


class AuthserverConfig(AppConfig):
    name = "opusof.authserver"
    label = "authserver"
    verbose_name = "Authorisation server (FAPI / OFB security profile)"
