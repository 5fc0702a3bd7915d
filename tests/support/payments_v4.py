"""Drives payments v4 as a TPP would, validating every response against the regulator's spec."""

from dataclasses import dataclass
from typing import Any

from django.http.response import HttpResponseBase

from consents.services import consent_authorise
from opusof.ofb import account_from_wire
from opusof.tokens import access_token_mint
from tests.support.spec import assert_response_matches_spec
from tests.support.tpp import TppActor

API = "/open-banking/payments/v4"
SPEC_PATHS = {
    "consents": "/consents",
    "consent": "/consents/{consentId}",
    "payments": "/pix/payments",
    "payment": "/pix/payments/{paymentId}",
    "consent-payments": "/pix/payments/consents/{consentId}",
}


@dataclass
class PaymentsV4:
    tpp: TppActor
    token: str

    def checked(self, response: HttpResponseBase, operation: str, method: str) -> Any:
        return assert_response_matches_spec(response, path=SPEC_PATHS[operation], method=method)

    def post_consent(self, data: dict[str, Any], **kwargs: Any) -> tuple[HttpResponseBase, Any]:
        response = self.tpp.post(f"{API}/consents", {"data": data}, token=self.token, **kwargs)
        return response, self.checked(response, "consents", "post")

    def create_consent(self, data: dict[str, Any]) -> str:
        response, body = self.post_consent(data)
        assert response.status_code == 201, body
        consent_id: str = body["data"]["consentId"]
        return consent_id

    def get_consent(self, consent_id: str) -> Any:
        response = self.tpp.get(f"{API}/consents/{consent_id}", token=self.token)
        assert response.status_code == 200, getattr(response, "content", b"")
        return self.checked(response, "consent", "get")["data"]

    def authorised_consent(self, data: dict[str, Any], *, debtor: dict[str, Any], approvals: int = 1) -> str:
        consent_id = self.create_consent(data)
        consent_authorise(
            consent_id=consent_id,
            debtor_account=account_from_wire(debtor),
            actor="customer:test",
            approvals_required=approvals,
        )
        return consent_id

    def consent_token(self, consent_id: str) -> str:
        return access_token_mint(
            client=self.tpp.client,
            grant_type="authorization_code",
            scopes=["openid", "payments", f"consent:{consent_id}"],
            consent_id=consent_id,
        )

    def post_payments(
        self, consent_id: str, items: list[dict[str, Any]], **kwargs: Any
    ) -> tuple[HttpResponseBase, Any]:
        token = kwargs.pop("token", None) or self.consent_token(consent_id)
        response = self.tpp.post(f"{API}/pix/payments", {"data": items}, token=token, **kwargs)
        return response, self.checked(response, "payments", "post")

    def get_payment(self, payment_id: str) -> Any:
        response = self.tpp.get(f"{API}/pix/payments/{payment_id}", token=self.token)
        assert response.status_code == 200, getattr(response, "content", b"")
        return self.checked(response, "payment", "get")["data"]

    def cancel_payment(self, payment_id: str, cpf: str = "12345678909", **kwargs: Any) -> tuple[HttpResponseBase, Any]:
        body = cancel_body(cpf)
        response = self.tpp.patch(f"{API}/pix/payments/{payment_id}", body, token=self.token, **kwargs)
        return response, self.checked(response, "payment", "patch")

    def cancel_consent_payments(
        self, consent_id: str, cpf: str = "12345678909", **kwargs: Any
    ) -> tuple[HttpResponseBase, Any]:
        response = self.tpp.patch(
            f"{API}/pix/payments/consents/{consent_id}", cancel_body(cpf), token=self.token, **kwargs
        )
        return response, self.checked(response, "consent-payments", "patch")


def cancel_body(cpf: str) -> dict[str, Any]:
    return {
        "data": {"status": "CANC", "cancellation": {"cancelledBy": {"document": {"identification": cpf, "rel": "CPF"}}}}
    }


def error_codes(body: Any) -> list[str]:
    return [error["code"] for error in body["errors"]]
