"""The enrollment routes' own refusals in-process (no holder reached): Opus's error shape with ``x-origin-error:
opus-tpp`` and the enrollments version, nothing written; another application's enrollment is not found; the
backoffice list and the admin of the enrollment mirror."""

import secrets
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from initiator.models import HolderCall, InitiatorEnrollment, Participant
from initiator.services.applications import application_create
from initiator.services.participants import OWN_AUTHORISATION_SERVER_ID, participants_refresh
from tests.support.initiator_enrollments import ENROLLMENTS, PROXY, assert_opus_sr, enrollment_body

CALLBACK = "https://app.example.com/cb"


def _client(name: str) -> tuple[Client, Any]:
    application, credential = application_create(
        name=name, fqdn=f"{name}.example.com", redirect_identifier=name, callback_uris=[CALLBACK]
    )
    headers = {
        "x-application-id": str(application.pk),
        "authorization": f"Bearer {credential}",
        "x-authorisation-server-id": OWN_AUTHORISATION_SERVER_ID,
    }
    return Client(headers=headers), application


def _mirror(application: Any, enrollment_id: str, *, status: str, cpf: str) -> InitiatorEnrollment:
    return InitiatorEnrollment.objects.create(
        application=application,
        participant=Participant.objects.get(authorisation_server_id=OWN_AUTHORISATION_SERVER_ID),
        enrollment_id=enrollment_id,
        status=status,
        regulatory_version="2.1.0",
        request_body={"data": {}},
        holder_data={"enrollmentId": enrollment_id, "status": status},
        logged_user_document=cpf,
        state=secrets.token_urlsafe(16),
        nonce="n",
        code_verifier="",
        access_token="gAAAA-not-shown",
    )


@pytest.fixture
def app(db: None) -> tuple[Client, Any]:
    participants_refresh(source="")
    return _client("app-enr")


def _refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["x-origin-error"] == "opus-tpp"
    assert response["x-selected-regulatory-v"] == "2.1.0"
    body = response.json()
    assert body["errors"][0]["code"] == code
    assert_opus_sr(body, "ResponseError")


def test_bad_requests_are_refused_before_the_holder(app):
    client, _ = app
    post = client.post
    _refused(post(ENROLLMENTS, "{", content_type="application/json"), 422, "PARAMETRO_INVALIDO")
    _refused(post(ENROLLMENTS, {}, content_type="application/json"), 400, "PARAMETRO_NAO_INFORMADO")
    missing = enrollment_body(callback=CALLBACK)
    del missing["data"]["permissions"]
    _refused(post(ENROLLMENTS, missing, content_type="application/json"), 400, "PARAMETRO_NAO_INFORMADO")
    foreign = enrollment_body(callback="https://elsewhere.example.com/cb")
    _refused(post(ENROLLMENTS, foreign, content_type="application/json"), 422, "PARAMETRO_INVALIDO")
    body = enrollment_body(callback=CALLBACK)
    unknown_server = post(
        ENROLLMENTS, body, content_type="application/json", headers={"x-authorisation-server-id": "x"}
    )
    _refused(unknown_server, 404, "NAO_ENCONTRADO")
    _refused(client.delete(f"{ENROLLMENTS}/urn:bank:1"), 405, "METODO_NAO_PERMITIDO")
    _refused(client.get(f"{ENROLLMENTS}/urn:bank:none"), 404, "NAO_ENCONTRADO")
    _refused(post(f"{ENROLLMENTS}/urn:bank:none/risk-signals", {"data": {}}, "application/json"), 404, "NAO_ENCONTRADO")
    assert not InitiatorEnrollment.objects.exists()
    assert not HolderCall.objects.exists()


def test_each_route_names_what_is_missing(app):
    client, application = app
    _mirror(application, "urn:bank:e1", status="AUTHORISED", cpf="12345678909")
    cases = [
        ("patch", f"{ENROLLMENTS}/urn:bank:e1", {"data": {"cancellation": {}}}),
        ("post", f"{ENROLLMENTS}/urn:bank:e1/fido-sign-options", {"data": {"rp": "app", "platform": "BROWSER"}}),
        ("post", f"{PROXY}/enrollments/urn:bank:e1/fido-registration-options", {"data": {"rp": "app"}}),
        ("post", f"{PROXY}/enrollments/urn:bank:e1/fido-registration", {"data": {"id": "x"}}),
        ("post", f"{PROXY}/consents/urn:bank:c1/authorise", {"data": {"riskSignals": {}, "fidoAssertion": {}}}),
        ("post", f"{PROXY}/recurring-consents/urn:bank:c1/authorise", {"data": {"enrollmentId": "urn:bank:e1"}}),
    ]
    for method, path, body in cases:
        _refused(getattr(client, method)(path, body, content_type="application/json"), 400, "PARAMETRO_NAO_INFORMADO")
    complete = {"data": {"enrollmentId": "urn:bank:e1", "riskSignals": {"deviceId": "d"}, "fidoAssertion": {"id": "x"}}}
    unknown_consent = client.post(f"{PROXY}/consents/urn:bank:c1/authorise", complete, "application/json")
    _refused(unknown_consent, 404, "NAO_ENCONTRADO")
    assert not HolderCall.objects.exists()


def test_another_applications_enrollment_is_not_found(app):
    client, application = app
    _mirror(application, "urn:bank:mine", status="AUTHORISED", cpf="12345678909")
    other, _ = _client("app-other")
    _refused(other.get(f"{ENROLLMENTS}/urn:bank:mine"), 404, "NAO_ENCONTRADO")
    sign = {"data": {"rp": "x", "platform": "BROWSER", "consentId": "urn:bank:c"}}
    _refused(
        other.post(f"{ENROLLMENTS}/urn:bank:mine/fido-sign-options", sign, "application/json"), 404, "NAO_ENCONTRADO"
    )
    assert not HolderCall.objects.exists()


def test_backoffice_lists_the_applications_enrollments(app):
    client, application = app
    _mirror(application, "urn:bank:a", status="AUTHORISED", cpf="12345678909")
    _mirror(application, "urn:bank:b", status="REJECTED", cpf="98765432100")
    other, other_app = _client("app-b2")
    _mirror(other_app, "urn:bank:c", status="AUTHORISED", cpf="12345678909")
    listed = client.get("/backoffice/enrollments", {"cpf": "12345678909"}).json()
    assert [row["regulatoryEnrollmentData"]["enrollmentId"] for row in listed["data"]] == ["urn:bank:a"]
    assert listed["data"][0]["additionalData"]["tppData"]["internalTppId"] == OWN_AUTHORISATION_SERVER_ID
    by_status = client.get("/backoffice/enrollments", {"enrollmentStatusList": "REJECTED,AWAITING_ENROLLMENT"})
    assert [row["regulatoryEnrollmentData"]["enrollmentId"] for row in by_status.json()["data"]] == ["urn:bank:b"]
    assert client.get("/backoffice/enrollments", {"orderType": "UP"}).status_code == 422


def test_staff_find_enrollments_by_cpf_and_cannot_edit_them(app):
    _, application = app
    enrollment = _mirror(application, "urn:bank:adm", status="AUTHORISED", cpf="12345678909")
    _mirror(application, "urn:bank:other", status="REJECTED", cpf="98765432100")
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client = Client()
    client.force_login(staff)
    listing = client.get("/admin/initiator/initiatorenrollment/", {"q": "12345678909"}).content.decode()
    assert "urn:bank:adm" in listing and "urn:bank:other" not in listing
    filtered = client.get("/admin/initiator/initiatorenrollment/", {"status__exact": "REJECTED"}).content.decode()
    assert "urn:bank:other" in filtered and "urn:bank:adm" not in filtered
    page = client.get(f"/admin/initiator/initiatorenrollment/{enrollment.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ativo (AUTHORISED)" in html
    assert "gAAAA-not-shown" not in html  # the journey's token is never shown
    assert 'name="status"' not in html  # read-only: the holder's word, changed only through the holder
    assert client.post(f"/admin/initiator/initiatorenrollment/{enrollment.pk}/change/", {}).status_code == 403
