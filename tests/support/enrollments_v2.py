"""Drives enrollments v2 as a TPP would, validating every response against enrollments-2.1.0.yml."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http.response import HttpResponseBase

from enrollments.services import enrollment_authorise
from opusof.ofb import account_from_wire
from opusof.tokens import access_token_mint
from tests.support.fido_authenticator import SoftAuthenticator
from tests.support.payment_bodies import ANA_ACCOUNT, ANA_CPF
from tests.support.spec import assert_response_matches_spec
from tests.support.tpp import TppActor

API = "/open-banking/enrollments/v2"
SPEC = "enrollments-2.1.0.yml"
SPEC_PATHS = {
    "enrollments": "/enrollments",
    "enrollment": "/enrollments/{enrollmentId}",
    "risk-signals": "/enrollments/{enrollmentId}/risk-signals",
    "registration-options": "/enrollments/{enrollmentId}/fido-registration-options",
    "registration": "/enrollments/{enrollmentId}/fido-registration",
    "sign-options": "/enrollments/{enrollmentId}/fido-sign-options",
    "authorise": "/consents/{consentId}/authorise",
}


def own_account() -> dict[str, Any]:
    return {**ANA_ACCOUNT, "ispb": settings.OPUSOF_ISPB}


def enrollment_data(*, debtor: dict[str, Any] | None = None, cpf: str = ANA_CPF, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "loggedUser": {"document": {"identification": cpf, "rel": "CPF"}},
        "permissions": ["PAYMENTS_INITIATE"],
        "enrollmentName": "Celular da Ana",
        **extra,
    }
    if debtor is not None:
        data["debtorAccount"] = debtor
    return data


def risk_signals() -> dict[str, Any]:
    return {
        "deviceId": "00aa11bb22cc33dd",
        "isRootedDevice": False,
        "screenBrightness": 200,
        "elapsedTimeSinceBoot": 6356027,
        "osVersion": "14",
        "userTimeZoneOffset": "-03",
        "language": "pt",
        "screenDimensions": {"height": 2400, "width": 1080},
        "accountTenure": "2023-09-01",
    }


@dataclass
class EnrollmentsV2:
    tpp: TppActor
    token: str
    device: SoftAuthenticator = field(default_factory=SoftAuthenticator)

    @property
    def rp_id(self) -> str:
        return "tpp-one.example.com"

    @property
    def origin(self) -> str:
        return f"https://{self.rp_id}"

    def checked(self, response: HttpResponseBase, operation: str, method: str) -> Any:
        return assert_response_matches_spec(response, spec=SPEC, path=SPEC_PATHS[operation], method=method)

    def journey_token(self, enrollment_id: str, *, actor: TppActor | None = None) -> str:
        """The token of the enrollment's hybrid flow (scopes openid payments enrollment:{id} nrp-consents)."""
        return access_token_mint(
            client=(actor or self.tpp).client,
            grant_type="authorization_code",
            scopes=["openid", "payments", f"enrollment:{enrollment_id}", "nrp-consents"],
            consent_id=enrollment_id,
        )

    # --- operations ------------------------------------------------------------------------------------------------

    def post_enrollment(self, data: dict[str, Any], **kwargs: Any) -> tuple[HttpResponseBase, Any]:
        response = self.tpp.post(f"{API}/enrollments", {"data": data}, token=self.token, **kwargs)
        return response, self.checked(response, "enrollments", "post")

    def create(self, data: dict[str, Any] | None = None) -> str:
        response, body = self.post_enrollment(data or enrollment_data(debtor=own_account()))
        assert response.status_code == 201, body
        enrollment_id: str = body["data"]["enrollmentId"]
        return enrollment_id

    def get(self, enrollment_id: str) -> Any:
        response = self.tpp.get(f"{API}/enrollments/{enrollment_id}", token=self.token)
        assert response.status_code == 200, getattr(response, "content", b"")
        return self.checked(response, "enrollment", "get")["data"]

    def post_risk_signals(self, enrollment_id: str, **kwargs: Any) -> tuple[HttpResponseBase, Any]:
        response = self.tpp.post(
            f"{API}/enrollments/{enrollment_id}/risk-signals", {"data": risk_signals()}, token=self.token, **kwargs
        )
        return response, self.checked(response, "risk-signals", "post")

    def patch(self, enrollment_id: str, cancellation: dict[str, Any], **kwargs: Any) -> tuple[HttpResponseBase, Any]:
        response = self.tpp.patch(
            f"{API}/enrollments/{enrollment_id}", {"data": {"cancellation": cancellation}}, token=self.token, **kwargs
        )
        return response, self.checked(response, "enrollment", "patch")

    def approve(
        self, enrollment_id: str, *, transaction_limit: str = "1000.00", daily_limit: str | None = "1500.00"
    ) -> None:
        """The customer approves at the bank (what the consent journey calls)."""
        enrollment_authorise(
            enrollment_id=enrollment_id,
            debtor_account=account_from_wire(own_account()),
            actor="customer:test",
            transaction_limit=Decimal(transaction_limit),
            daily_limit=Decimal(daily_limit) if daily_limit is not None else None,
            customer_document=ANA_CPF,
            customer_name="Ana Souza",
        )

    def registration_options(
        self, enrollment_id: str, *, rp: str | None = None, token: str | None = None, platform: str = "BROWSER"
    ) -> tuple[HttpResponseBase, Any]:
        response = self.tpp.post(
            f"{API}/enrollments/{enrollment_id}/fido-registration-options",
            {"data": {"rp": rp or self.rp_id, "platform": platform}},
            token=token or self.journey_token(enrollment_id),
        )
        return response, self.checked(response, "registration-options", "post")

    def register(
        self, enrollment_id: str, credential: dict[str, Any], *, token: str | None = None
    ) -> tuple[HttpResponseBase, Any]:
        response = self.tpp.post(
            f"{API}/enrollments/{enrollment_id}/fido-registration",
            {"data": credential},
            token=token or self.journey_token(enrollment_id),
        )
        return response, self.checked(response, "registration", "post")

    def sign_options(
        self, enrollment_id: str, consent_id: str, *, rp: str | None = None
    ) -> tuple[HttpResponseBase, Any]:
        response = self.tpp.post(
            f"{API}/enrollments/{enrollment_id}/fido-sign-options",
            {"data": {"rp": rp or self.rp_id, "platform": "BROWSER", "consentId": consent_id}},
            token=self.token,
        )
        return response, self.checked(response, "sign-options", "post")

    def authorise(
        self,
        consent_id: str,
        enrollment_id: str,
        assertion: dict[str, Any],
        *,
        token: str | None = None,
        signals: dict[str, Any] | None = None,
    ) -> tuple[HttpResponseBase, Any]:
        body = {"enrollmentId": enrollment_id, "riskSignals": signals or risk_signals(), "fidoAssertion": assertion}
        response = self.tpp.post(
            f"/open-banking/enrollments/v2/consents/{consent_id}/authorise",
            {"data": body},
            token=token or self.journey_token(enrollment_id),
        )
        return response, self.checked(response, "authorise", "post")

    # --- whole steps -----------------------------------------------------------------------------------------------

    def awaiting_enrollment(self, **approve: Any) -> str:
        enrollment_id = self.create()
        response, _ = self.post_risk_signals(enrollment_id)
        assert response.status_code == 204
        self.approve(enrollment_id, **approve)
        return enrollment_id

    def authorised(self, platform: str = "BROWSER", **approve: Any) -> str:
        """An AUTHORISED enrollment whose credential is ``self.device``."""
        enrollment_id = self.awaiting_enrollment(**approve)
        response, body = self.registration_options(enrollment_id, platform=platform)
        assert response.status_code == 201, body
        response, body = self.register(enrollment_id, self.device.create(body["data"], origin=self.origin))
        assert response.status_code == 204, body
        return enrollment_id

    def sign(self, enrollment_id: str, consent_id: str, **device_kwargs: Any) -> dict[str, Any]:
        response, body = self.sign_options(enrollment_id, consent_id)
        assert response.status_code == 201, body
        return self.device.get(body["data"], origin=device_kwargs.pop("origin", self.origin), **device_kwargs)
