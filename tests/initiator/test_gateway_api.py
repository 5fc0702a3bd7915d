"""The gateway's own endpoints in-process: participants and their filters (checked against Opus's contract),
regulatory version selection, applications' internal API, app links, holder webhooks, token encryption."""

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet
from django.test import Client
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from initiator import crypto
from initiator.models import Application, Participant
from initiator.services.applications import application_create
from initiator.services.participants import OWN_AUTHORISATION_SERVER_ID, participants_refresh, select_version

OPUS_SPEC = Path(__file__).resolve().parents[2] / "specs" / "opus" / "en-opusTPP-iniciacaoPagamentos.yml"


@functools.cache
def opus_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(OPUS_SPEC.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return document


def opus_schema(name: str) -> dict[str, Any]:
    document = opus_document()
    return {**document["components"]["schemas"][name], "components": document["components"]}


def assert_opus(instance: Any, schema: str) -> None:
    raw = opus_schema(schema)
    components = raw.pop("components")
    errors = list(
        OAS30Validator({**raw, "components": components}, format_checker=oas30_format_checker).iter_errors(instance)
    )
    assert not errors, errors[0].message


@pytest.fixture
def app_client(db: None) -> tuple[Client, Application]:
    application, credential = application_create(
        name="App", fqdn="app.example.com", redirect_identifier="app", callback_uris=["https://app.example.com/cb"]
    )
    client = Client(headers={"x-application-id": str(application.pk), "authorization": f"Bearer {credential}"})
    return client, application


def test_participants_list_our_holder_and_filter_by_capability(app_client):
    client, _ = app_client
    participants_refresh(source="")
    listed = client.get("/opus-open-finance/participants")
    assert listed.status_code == 200
    assert_opus(listed.json(), "ParticipantsResponse")
    [ours] = listed.json()
    assert ours["AuthorisationServerIds"] == [OWN_AUTHORISATION_SERVER_ID]
    assert ours["OpenIDDiscoveryDocument"] == "https://api.opusof.test/.well-known/openid-configuration"
    assert len(client.get("/opus-open-finance/participants", {"role": "CONTA"}).json()) == 1
    assert client.get("/opus-open-finance/participants", {"role": "PAGTO"}).json() == []
    assert len(client.get("/opus-open-finance/participants", {"familyType": "payments-pix"}).json()) == 1
    assert client.get("/opus-open-finance/participants", {"familyType": "accounts"}).json() == []


def test_participants_from_a_directory_file_and_dropped_servers(app_client, tmp_path):
    client, _ = app_client
    document: list[dict[str, Any]] = [
        {
            "OrganisationId": "org-1",
            "RegisteredName": "Banco Um S.A.",
            "RegistrationNumber": "11111111000111",
            "OrgDomainRoleClaims": [{"Role": "CONTA", "Status": "Active"}],
            "AuthorisationServers": [
                {
                    "AuthorisationServerId": f"as-{n}",
                    "CustomerFriendlyName": f"Banco Um {n}",
                    "CustomerFriendlyLogoUri": "https://bancoum.example.com/logo.svg",
                    "OpenIDDiscoveryDocument": f"https://as{n}.bancoum.example.com/.well-known/openid-configuration",
                    "ApiResources": [{"ApiFamilyType": "payments-consents", "ApiVersion": "4.0.0"}],
                }
                for n in (1, 2)
            ],
        }
    ]
    source = tmp_path / "participants.json"
    source.write_text(json.dumps(document))
    assert participants_refresh(source=str(source)) == 2
    document[0]["AuthorisationServers"].pop()
    source.write_text(json.dumps(document))
    assert participants_refresh(source=str(source)) == 1
    assert set(Participant.objects.filter(active=True).values_list("authorisation_server_id", flat=True)) == {"as-1"}
    names = [p["CustomerFriendlyName"] for p in client.get("/opus-open-finance/participants").json()]
    assert names == ["Banco Um 1"]


@pytest.mark.parametrize(
    ("requested", "available", "selected"),
    [
        (None, ["4.0.0", "4.1.0", "5.0.0"], "5.0.0"),  # not sent: the newest
        ("4.0.0", ["4.0.0", "4.1.0", "5.0.0"], "4.0.0"),  # exact
        ("4.2.0", ["4.0.0", "4.1.0", "5.0.0"], "4.1.0"),  # unknown: newest of the same major
        ("4", ["4.0.0", "4.1.0", "5.0.0"], "4.1.0"),  # major only
        ("3.0.0", ["4.0.0", "4.1.0"], "4.1.0"),  # no such major: the newest
        ("4.0.0", [], None),
    ],
)
def test_regulatory_version_selection(requested, available, selected):
    assert select_version(requested, available) == selected


def test_application_internal_api(app_client):
    client, application = app_client
    path = f"/opus-open-finance/application/v1/application/{application.pk}"
    hook = client.patch(
        f"{path}/webhook-url", {"data": {"webhookUrl": "https://app.example.com/hook"}}, content_type="application/json"
    )
    assert hook.status_code == 204
    assert client.patch(f"{path}/external-client/ext-42").status_code == 204
    read = client.get("/opus-open-finance/application/v1/external-client/ext-42")
    assert read.json() == {"data": {"externalClientId": "ext-42", "applicationId": str(application.pk)}}
    application.refresh_from_db()
    assert (application.webhook_url, application.external_client_id) == ("https://app.example.com/hook", "ext-42")
    assert client.get("/opus-open-finance/application/v1/external-client/other").status_code == 404


def test_every_internal_call_needs_the_applications_credential(app_client):
    _, application = app_client
    anonymous = Client().get("/opus-open-finance/participants")
    assert anonymous.status_code == 401
    assert anonymous["x-origin-error"] == "opus-tpp"
    assert_opus(anonymous.json(), "ResponseError")
    wrong = Client(headers={"x-application-id": str(application.pk), "authorization": "Bearer nope"})
    assert wrong.post("/opus-open-finance/payments/v1/consents", {}, content_type="application/json").status_code == 401
    consent = wrong.get("/opus-open-finance/payments/v1/consents/urn:bank:1")
    assert consent["x-selected-regulatory-v"] == "4.0.0"


def test_consent_body_is_validated_before_any_holder_call(app_client):
    client, _ = app_client
    participants_refresh(source="")
    headers = {"x-authorisation-server-id": OWN_AUTHORISATION_SERVER_ID}
    missing = client.post(
        "/opus-open-finance/payments/v1/consents", {"data": {}}, content_type="application/json", headers=headers
    )
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["code"] == "PARAMETRO_NAO_INFORMADO"
    body = {
        "data": {"callbackApplicationUri": "https://evil.example.com", "loggedUser": {}, "creditor": {}, "payment": {}}
    }
    foreign = client.post(
        "/opus-open-finance/payments/v1/consents", body, content_type="application/json", headers=headers
    )
    assert foreign.status_code == 422
    assert "callbackApplicationUri" in foreign.json()["errors"][0]["detail"]


def test_app_links_come_from_settings(client, settings):
    settings.INITIATOR_ANDROID_ASSET_LINKS = json.dumps(
        [{"relation": ["delegate_permission/common.handle_all_urls"], "target": {"namespace": "android_app"}}]
    )
    links = client.get("/.well-known/assetlinks.json")
    assert links.status_code == 200
    assert_opus(links.json(), "AssetLinks")
    assert links.json()[0]["target"]["namespace"] == "android_app"
    assert client.get("/.well-known/apple-app-site-association").json() == {"applinks": {"details": []}}


@pytest.mark.django_db
def test_holder_webhook_for_an_unknown_resource_is_accepted(client):
    body = {"data": {"timestamp": "2026-01-01T00:00:00Z"}}
    for path in (
        "/open-banking/webhook/v1/payments/v4/pix/payments/unknown-payment",
        "/open-banking/webhook/v1/payments/v4/consents/urn:bank:unknown",
        "/open-banking/webhook/v1/enrollments/v2/enrollments/urn:bank:enr",
    ):
        assert client.post(path, body, content_type="application/json").status_code == 202


def test_tokens_at_rest_survive_a_key_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.INITIATOR_TOKEN_KEYS = [old]
    stored = crypto.encrypt("access-token-value")
    assert "access-token-value" not in stored
    settings.INITIATOR_TOKEN_KEYS = [new, old]
    assert crypto.decrypt(stored) == "access-token-value"
    settings.INITIATOR_TOKEN_KEYS = [new]
    assert crypto.decrypt(stored) == ""


def test_applications_are_registered_by_command_with_a_working_credential(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "initiator_application",
        "--name=Loja",
        "--fqdn=loja.bank.example",
        "--redirect-identifier=loja",
        "--callback=https://loja.bank.example/retorno",
        stdout=out,
    )
    lines = dict(line.split(None, 1) for line in out.getvalue().splitlines() if line.strip() and " " in line)
    client = Client(
        headers={"x-application-id": lines["applicationId"], "authorization": f"Bearer {lines['credential']}"}
    )
    assert client.get("/opus-open-finance/participants").status_code == 200
    assert "https://loja.bank.example/opus-open-finance/payments/redirect-uri/loja" in out.getvalue()


@pytest.mark.django_db
def test_the_browser_path_moves_a_hybrid_fragment_into_the_query(client):
    page = client.get("/opus-open-finance/payments/redirect-uri/app")
    assert page.status_code == 200
    assert "location.hash" in page.content.decode()
    unknown = client.get("/opus-open-finance/payments/redirect-uri/app", {"state": "nope", "code": "x"})
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_request")


@pytest.mark.django_db
def test_participants_from_a_directory_url():
    from http.server import BaseHTTPRequestHandler

    from tests.support.browser import local_http_server

    document = json.dumps(
        [
            {
                "OrganisationId": "org-url",
                "RegisteredName": "Banco URL S.A.",
                "RegistrationNumber": "22222222000122",
                "AuthorisationServers": [
                    {
                        "AuthorisationServerId": "as-url",
                        "CustomerFriendlyName": "Banco URL",
                        "OpenIDDiscoveryDocument": "https://as.bancourl.example.com/.well-known/openid-configuration",
                        "ApiResources": [],
                    }
                ],
            }
        ]
    ).encode()

    class Directory(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with local_http_server(Directory) as port:
        assert participants_refresh(source=f"http://127.0.0.1:{port}/participants") == 1
    assert Participant.objects.get(active=True).friendly_name == "Banco URL"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/opus-open-finance/dcm", {"data": ["1"]}),
        ("put", "/opus-open-finance/dcm", "not json"),
        ("patch", "/opus-open-finance/application/v1/application/{app}/webhook-url", {"data": []}),
        ("patch", "/opus-open-finance/application/v1/application/{app}/webhook-url", [1, 2]),
        ("post", "/opus-open-finance/payments/v1/consents", {"data": "x"}),
        ("post", "/opus-open-finance/payments/v1/consents", []),
        ("post", "/opus-open-finance/payments/v1/consents/urn:bank:1/authorisation-retry", {"data": 1}),
        ("post", "/proxy/open-banking/payments/v4/pix/payments", {"data": []}),
        ("patch", "/proxy/open-banking/payments/v4/pix/payments/unknown", {"data": {}}),
        ("patch", "/proxy/open-banking/payments/v4/pix/payments/consents/urn:bank:1", {"data": {}}),
        ("get", "/backoffice/consents?createdOnBegin=2024-13-45T00:00:00Z", None),
        ("get", "/backoffice/consents?createdOnBegin=yesterday", None),
        ("get", "/backoffice/consents?pageSize=1000", None),
        ("get", "/backoffice/consents?orderType=UP", None),
        ("post", "/opus-open-finance/authorization-result", {"data": 5}),
        ("post", "/opus-open-finance/authorization-result", {"data": "response=not.a.jwt"}),
    ],
)
def test_bad_input_gets_an_error_body_never_a_500(app_client, method, path, body):
    client, application = app_client
    participants_refresh(source="")
    raw = body if isinstance(body, str) else json.dumps(body) if body is not None else ""
    headers = {"x-authorisation-server-id": OWN_AUTHORISATION_SERVER_ID, "x-consent-id": "urn:bank:1"}
    response = getattr(client, method)(
        path.format(app=application.pk), raw, content_type="application/json", headers=headers
    )
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/json")
    assert "errors" in response.json() or "error" in response.json()


@pytest.mark.django_db
def test_old_traces_and_finished_notifications_are_purged(app_client, settings):
    import datetime as dt

    from django.utils import timezone

    from initiator.models import ApplicationNotification, HolderCall
    from initiator.services.notifications import trace_purge

    _, application = app_client
    participants_refresh(source="")
    participant = Participant.objects.get()
    old = timezone.now() - dt.timedelta(days=settings.INITIATOR_RETENTION_DAYS + 1)
    HolderCall.objects.create(
        participant=participant, operation="x", method="GET", url="u", latency_ms=1, created_at=old
    )
    HolderCall.objects.create(participant=participant, operation="x", method="GET", url="u", latency_ms=1)
    for state in ("DELIVERED", "PENDING"):
        ApplicationNotification.objects.create(
            application=application, kind="K", resource_id="r", to_status="ACSC", occurred_at=old, state=state
        )
    assert trace_purge() == 2
    assert HolderCall.objects.count() == 1
    assert list(ApplicationNotification.objects.values_list("state", flat=True)) == ["PENDING"]
