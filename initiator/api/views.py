"""The Opus initiator API for the company's applications (en-opusTPP-iniciacaoPagamentos.yml, apisInternas.yml):
participants, DCM, consents, the authorisation return (both paths) and the app-link documents."""

import contextlib
import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from initiator import selectors
from initiator.api.base import data_field, endpoint, json_body, reply_response
from initiator.errors import AuthorisationFailed, NotFound, ParameterMissing
from initiator.models import Application, HolderRegistration
from initiator.services import applications, authorisation, consents
from initiator.services.participants import wire
from initiator.services.registration import registration_update

# --- participants and DCM ------------------------------------------------------------------------------------------


@endpoint(["GET"])
def participants_list(request: HttpRequest, *, application: Application) -> HttpResponse:
    listed = selectors.participants(role=request.GET.get("role", ""), family_type=request.GET.get("familyType", ""))
    return JsonResponse([wire(p) for p in listed], safe=False)


def _dcm_item(item: HolderRegistration) -> dict[str, Any]:
    return {
        "brandId": item.participant.authorisation_server_id,
        "dcmVersion": item.dcm_version,
        "dcmDate": item.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": item.dcm_status,
    }


@endpoint(["GET", "PUT"])
def dcm(request: HttpRequest, *, application: Application) -> HttpResponse:
    """GET: our registration at each holder. PUT: DCM (RFC 7592) at every holder with a fresh software statement."""
    if request.method == "PUT":
        body = json_body(request)
        version = data_field(body, "version")
        if not isinstance(version, str) or not version:
            raise ParameterMissing("data.version não informado.")
        for item in selectors.registrations():
            # A failure is recorded as dcm_status=error on the row; the listing shows it.
            with contextlib.suppress(*consents.HOLDER_FAILURES):
                registration_update(registration=item, version=version)
    return JsonResponse({"data": [_dcm_item(item) for item in selectors.registrations()]})


# --- applications (apisInternas) -----------------------------------------------------------------------------------


@endpoint(["GET"])
def external_client_get(request: HttpRequest, client_id: str, *, application: Application) -> HttpResponse:
    if application.external_client_id != client_id:
        raise NotFound("externalClientId não encontrado.")
    return JsonResponse({"data": {"externalClientId": client_id, "applicationId": str(application.pk)}})


@endpoint(["PATCH"])
def external_client_set(
    request: HttpRequest, application_id: str, client_id: str, *, application: Application
) -> HttpResponse:
    applications.application_set_external_client(
        caller=application, application_id=application_id, external_client_id=client_id
    )
    return HttpResponse(status=204)


@endpoint(["PATCH"])
def webhook_url_set(request: HttpRequest, application_id: str, *, application: Application) -> HttpResponse:
    body = json_body(request)
    url = data_field(body, "webhookUrl")
    if not isinstance(url, str):
        raise ParameterMissing("data.webhookUrl não informado.")
    applications.application_set_webhook_url(caller=application, application_id=application_id, webhook_url=url)
    return HttpResponse(status=204)


# --- consents ------------------------------------------------------------------------------------------------------


def server_id_of(request: HttpRequest) -> str:
    value = request.headers.get("x-authorisation-server-id", "")
    if not value:
        raise ParameterMissing("x-authorisation-server-id não informado.")
    return value


@endpoint(["POST"], versioned=True)
def consent_create(request: HttpRequest, *, application: Application) -> HttpResponse:
    _, reply = consents.consent_create(
        application=application,
        authorisation_server_id=server_id_of(request),
        body=json_body(request),
        regulatory_version=request.headers.get("x-regulatory-v"),
    )
    return reply_response(reply)


@endpoint(["GET"], versioned=True)
def consent_get(request: HttpRequest, consent_id: str, *, application: Application) -> HttpResponse:
    reply = consents.consent_read(
        application=application, consent_id=consent_id, authorisation_server_id=server_id_of(request)
    )
    return reply_response(reply)


@endpoint(["POST"], versioned=True)
def consent_retry(request: HttpRequest, consent_id: str, *, application: Application) -> HttpResponse:
    body = json_body(request)
    callback = data_field(body, "callbackApplicationUri")
    if not isinstance(callback, str) or not callback:
        raise ParameterMissing("data.callbackApplicationUri não informado.")
    reply = consents.consent_retry_authorisation(
        application=application,
        consent_id=consent_id,
        authorisation_server_id=server_id_of(request),
        callback_uri=callback,
    )
    return reply_response(reply)


# --- the authorisation return --------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def authorisation_result(request: HttpRequest) -> HttpResponse:
    """App-to-app path: ``{"data": "<query string or fragment>"}`` → 204, or 422 ``error``/``error_description``.
    The ``state`` inside is the credential: it names one attempt of one application."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    raw = body.get("data") if isinstance(body, dict) else None
    if not isinstance(raw, str) or not raw:
        return JsonResponse({"error": "invalid_request", "error_description": "data ausente."}, status=422)
    try:
        authorisation.authorisation_complete(params=authorisation.parse_result(raw))
    except AuthorisationFailed as exc:
        return JsonResponse({"error": exc.error, "error_description": exc.description}, status=422)
    return HttpResponse(status=204)


# The hybrid flow answers in the fragment, which a browser never sends: this page moves it into the query.
_FRAGMENT_PAGE = (
    "<!doctype html><meta charset=utf-8><title>Opus</title><script>"
    "if(location.hash.length>1){location.replace(location.pathname+'?'+location.hash.slice(1))}"
    "</script><noscript>JavaScript é necessário para concluir a autorização.</noscript>"
)


@require_GET
def redirect_uri(request: HttpRequest, redirect_identifier: str = "") -> HttpResponse:
    """Browser path: the holder redirects here; 302 to the consent's ``callbackApplicationUri`` with
    ``result=success`` or ``result=error&error=...&error_description=...``."""
    params: dict[str, str] = {k: str(v) for k, v in request.GET.items()}
    if not params:
        return HttpResponse(_FRAGMENT_PAGE, content_type="text/html; charset=utf-8")
    try:
        consent = authorisation.authorisation_complete(params=params, redirect_identifier=redirect_identifier)
    except AuthorisationFailed as exc:
        if not exc.callback_uri:
            return JsonResponse({"error": exc.error, "error_description": exc.description}, status=400)
        query = urlencode({"result": "error", "error": exc.error, "error_description": exc.description})
        return HttpResponseRedirect(_append(exc.callback_uri, query))
    return HttpResponseRedirect(_append(consent.callback_uri, urlencode({"result": "success"})))


def _append(uri: str, query: str) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


# --- app links ------------------------------------------------------------------------------------------------------


@require_GET
def asset_links(request: HttpRequest) -> HttpResponse:
    return HttpResponse(settings.INITIATOR_ANDROID_ASSET_LINKS, content_type="application/json")


@require_GET
def apple_app_site_association(request: HttpRequest) -> HttpResponse:
    return HttpResponse(settings.INITIATOR_APPLE_APP_SITE_ASSOCIATION, content_type="application/json")
