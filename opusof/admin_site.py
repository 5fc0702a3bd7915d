"""The admin site staff log in to: pt-BR, named after the product, with a dashboard as its entry page."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from opusof.dashboard import dashboard


class OpusofAdminSite(admin.AdminSite):
    site_header = "opusof · administração Open Finance"
    site_title = "opusof"
    index_title = "Painel do dia"
    site_url = "/"  # "Ver o site": the platform's index page

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        return super().index(request, {**dashboard(), **(extra_context or {})})
