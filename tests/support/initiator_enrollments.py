"""An application's device driving payments without redirect through the gateway (Opus en-opusTPP-pagamentosSR.yml):
the enrollment routes, the customer at the holder's pages, and a software FIDO2 authenticator as the device. The
device's origin is the application's (the gateway's FQDN in these tests), its RP id that origin's host.

    app = AppDevice(gateway)
    enrollment_id = app.enrolled()                     # AWAITING_RISK_SIGNALS … AUTHORISED
    assertion = app.sign(enrollment_id, consent_id)
    app.authorise(consent_id, enrollment_id, assertion)
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from tests.support.enrollments_v2 import risk_signals
from tests.support.fido_authenticator import SoftAuthenticator
from tests.support.oauth_tpp import customer_decides
from tests.support.payment_bodies import ANA_CPF

ENROLLMENTS = "/opus-open-finance/enrollments/v1/enrollments"
PROXY = "/proxy/open-banking/enrollments/v2"
OPUS_SR_SPEC = Path(__file__).resolve().parents[2] / "specs" / "opus" / "en-opusTPP-pagamentosSR.yml"


def assert_opus_sr(instance: Any, schema: str) -> None:
    """``instance`` against a schema of Opus's payments-without-redirect contract."""
    document = yaml.safe_load(OPUS_SR_SPEC.read_text(encoding="utf-8"))
    raw = {**document["components"]["schemas"][schema], "components": document["components"]}
    errors = list(OAS30Validator(raw, format_checker=oas30_format_checker).iter_errors(instance))
    assert not errors, errors[0].message


def regulated_error(response: httpx.Response, code: str, *, status: int = 422) -> None:
    """The holder's regulated error as the application receives it: status, code, Opus's error shape, and
    ``x-origin-error: participant``."""
    assert response.status_code == status, response.text
    assert response.headers["x-origin-error"] == "participant", response.headers
    body = response.json()
    assert [error["code"] for error in body["errors"]] == [code], body
    assert_opus_sr({"errors": body["errors"]}, "ResponseError")


def enrollment_body(*, debtor: dict[str, Any] | None = None, callback: str, cpf: str = ANA_CPF) -> dict[str, Any]:
    data: dict[str, Any] = {
        "callbackApplicationUri": callback,
        "loggedUser": {"document": {"identification": cpf, "rel": "CPF"}},
        "permissions": ["PAYMENTS_INITIATE"],
        "enrollmentName": "Celular da Ana",
    }
    if debtor is not None:
        data["debtorAccount"] = debtor
    return {"data": data}


@dataclass
class AppDevice:
    """``gateway`` is tests.initiator.conftest.Gateway (the application's HTTP client and the customer's)."""

    gateway: Any
    callback: str
    device: SoftAuthenticator = field(default_factory=SoftAuthenticator)

    @property
    def origin(self) -> str:
        return str(self.gateway.http.base_url).rstrip("/")

    @property
    def rp(self) -> str:
        return urlsplit(self.origin).hostname or ""

    def post(self, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        response: httpx.Response = self.gateway.http.post(path, json=body, headers=self.gateway.headers(**headers))
        return response

    # --- the enrollment ------------------------------------------------------------------------------------------

    def create(self, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.post(ENROLLMENTS, body or enrollment_body(callback=self.callback))

    def created(self, body: dict[str, Any] | None = None) -> str:
        response = self.create(body)
        assert response.status_code == 201, response.text
        enrollment_id: str = response.json()["data"]["enrollmentId"]
        return enrollment_id

    def get(self, enrollment_id: str) -> httpx.Response:
        response: httpx.Response = self.gateway.http.get(
            f"{ENROLLMENTS}/{enrollment_id}", headers=self.gateway.headers()
        )
        return response

    def risk_signals(self, enrollment_id: str) -> httpx.Response:
        return self.post(f"{ENROLLMENTS}/{enrollment_id}/risk-signals", {"data": risk_signals()})

    def patch(self, enrollment_id: str, reason: dict[str, str], **extra: Any) -> httpx.Response:
        body = {"data": {"cancellation": {"reason": reason, **extra}}}
        response: httpx.Response = self.gateway.http.patch(
            f"{ENROLLMENTS}/{enrollment_id}", json=body, headers=self.gateway.headers()
        )
        return response

    def customer_approves(self, redirect_url: str, *, account: str = "10000001") -> httpx.Response:
        """Ana validates the account at the holder (account, R$ 1 000 per payment, R$ 1 500 a day); the browser
        comes back to the gateway's redirect URI, which answers with the application's callback."""
        final = customer_decides(
            self.gateway.customer,
            redirect_url,
            cpf=ANA_CPF,
            action="approve",
            account=account,
            extra={"transaction_limit": "1000,00", "daily_limit": "1500"},
        )
        assert final.status_code == 302, final.text
        back: httpx.Response = self.gateway.follow_return(str(final.headers["location"]))
        return back

    def registration_options(self, enrollment_id: str) -> httpx.Response:
        body = {"data": {"rp": self.rp, "platform": "BROWSER"}}
        return self.post(f"{PROXY}/enrollments/{enrollment_id}/fido-registration-options", body)

    def register(self, enrollment_id: str, credential: dict[str, Any]) -> httpx.Response:
        return self.post(f"{PROXY}/enrollments/{enrollment_id}/fido-registration", {"data": credential})

    def awaiting_enrollment(self, body: dict[str, Any] | None = None) -> str:
        enrollment_id = self.created(body)
        signals = self.risk_signals(enrollment_id)
        assert signals.status_code == 201, signals.text
        back = self.customer_approves(signals.json()["data"]["redirectUrl"])
        assert back.status_code == 302 and back.headers["location"] == f"{self.callback}?result=success", back.text
        return enrollment_id

    def enrolled(self, body: dict[str, Any] | None = None) -> str:
        """An AUTHORISED enrollment whose FIDO2 credential lives in ``self.device``."""
        enrollment_id = self.awaiting_enrollment(body)
        options = self.registration_options(enrollment_id)
        assert options.status_code == 201, options.text
        registered = self.register(enrollment_id, self.device.create(options.json()["data"], origin=self.origin))
        assert registered.status_code == 204, registered.text
        return enrollment_id

    # --- authorising a consent -----------------------------------------------------------------------------------

    def sign_options(self, enrollment_id: str, consent_id: str) -> httpx.Response:
        body = {"data": {"rp": self.rp, "platform": "BROWSER", "consentId": consent_id}}
        return self.post(f"{ENROLLMENTS}/{enrollment_id}/fido-sign-options", body)

    def sign(self, enrollment_id: str, consent_id: str, **device: Any) -> dict[str, Any]:
        """The device's assertion over the holder's challenge for ``consent_id`` (knobs: SoftAuthenticator.get)."""
        options = self.sign_options(enrollment_id, consent_id)
        assert options.status_code == 201, options.text
        return self.device.get(options.json()["data"], origin=self.origin, **device)

    def authorise(
        self, consent_id: str, enrollment_id: str, assertion: dict[str, Any], *, recurring: bool = False
    ) -> httpx.Response:
        body = {"data": {"enrollmentId": enrollment_id, "riskSignals": risk_signals(), "fidoAssertion": assertion}}
        kind = "recurring-consents" if recurring else "consents"
        return self.post(f"{PROXY}/{kind}/{consent_id}/authorise", body)
