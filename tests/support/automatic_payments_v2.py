"""Drives automatic payments v2 as a TPP would, validating every response against the regulator's spec."""

from dataclasses import dataclass
from typing import Any

from django.http.response import HttpResponseBase

from opusof.ofb import account_from_wire
from opusof.tokens import access_token_mint
from recurring.services.consents import recurring_consent_approve, recurring_consent_authorise
from tests.support.oauth_tpp import OAuthTpp
from tests.support.spec import assert_response_matches_spec
from tests.support.tpp import TppActor

API = "/open-banking/automatic-payments/v2"
SPEC = "automatic-payments-2.0.0.yml"
SPEC_PATHS = {
    "consents": "/recurring-consents",
    "consent": "/recurring-consents/{recurringConsentId}",
    "payments": "/pix/recurring-payments",
    "payment": "/pix/recurring-payments/{recurringPaymentId}",
}


def checked(response: HttpResponseBase, operation: str, method: str) -> Any:
    return assert_response_matches_spec(response, spec=SPEC, path=SPEC_PATHS[operation], method=method)


@dataclass
class AutomaticPaymentsV2:
    tpp: TppActor
    token: str

    # --- consents -----------------------------------------------------------------------------------------------

    def post_consent(self, data: dict[str, Any], **kwargs: Any) -> tuple[HttpResponseBase, Any]:
        response = self.tpp.post(f"{API}/recurring-consents", {"data": data}, token=self.token, **kwargs)
        return response, checked(response, "consents", "post")

    def create_consent(self, data: dict[str, Any]) -> str:
        response, body = self.post_consent(data)
        assert response.status_code == 201, body
        consent_id: str = body["data"]["recurringConsentId"]
        return consent_id

    def get_consent(self, consent_id: str) -> Any:
        response = self.tpp.get(f"{API}/recurring-consents/{consent_id}", token=self.token)
        assert response.status_code == 200, getattr(response, "content", b"")
        return checked(response, "consent", "get")["data"]

    def patch_consent(self, consent_id: str, data: dict[str, Any], **kwargs: Any) -> tuple[HttpResponseBase, Any]:
        response = self.tpp.patch(f"{API}/recurring-consents/{consent_id}", {"data": data}, token=self.token, **kwargs)
        return response, checked(response, "consent", "patch")

    def authorised_consent(self, data: dict[str, Any], *, debtor: dict[str, Any], approvals: int = 1) -> str:
        consent_id = self.create_consent(data)
        recurring_consent_authorise(
            recurring_consent_id=consent_id,
            debtor_account=account_from_wire(debtor),
            actor="customer:test",
            approvals_required=approvals,
        )
        for approver in range(1, approvals):
            recurring_consent_approve(recurring_consent_id=consent_id, actor=f"customer:approver-{approver}")
        return consent_id

    def consent_token(self, consent_id: str) -> str:
        return access_token_mint(
            client=self.tpp.client,
            grant_type="authorization_code",
            scopes=["openid", "recurring-payments", f"recurring-consent:{consent_id}"],
            consent_id=consent_id,
        )

    # --- payments -----------------------------------------------------------------------------------------------

    def post_payment(self, consent_id: str, data: dict[str, Any], **kwargs: Any) -> tuple[HttpResponseBase, Any]:
        token = kwargs.pop("token", None) or self.consent_token(consent_id)
        response = self.tpp.post(f"{API}/pix/recurring-payments", {"data": data}, token=token, **kwargs)
        return response, checked(response, "payments", "post")

    def pay(self, consent_id: str, data: dict[str, Any]) -> Any:
        response, body = self.post_payment(consent_id, data)
        assert response.status_code == 201, body
        return body["data"]

    def list_payments(self, query: str, **kwargs: Any) -> tuple[HttpResponseBase, Any]:
        token = kwargs.pop("token", None) or self.token
        response = self.tpp.get(f"{API}/pix/recurring-payments?{query}", token=token, **kwargs)
        return response, checked(response, "payments", "get")

    def get_payment(self, payment_id: str, **kwargs: Any) -> tuple[HttpResponseBase, Any]:
        token = kwargs.pop("token", None) or self.token
        response = self.tpp.get(f"{API}/pix/recurring-payments/{payment_id}", token=token, **kwargs)
        return response, checked(response, "payment", "get")

    def cancel_payment(
        self, payment_id: str, *, document: str, rel: str = "CPF", **kwargs: Any
    ) -> tuple[HttpResponseBase, Any]:
        body = {
            "data": {
                "status": "CANC",
                "cancellation": {"cancelledBy": {"document": {"identification": document, "rel": rel}}},
            }
        }
        response = self.tpp.patch(f"{API}/pix/recurring-payments/{payment_id}", body, token=self.token, **kwargs)
        return response, checked(response, "payment", "patch")


def recurring_scope(consent_id: str) -> str:
    """The PAR scope of a recurring consent's authorisation."""
    return f"openid recurring-payments recurring-consent:{consent_id}"


def over_oauth(oauth: OAuthTpp) -> AutomaticPaymentsV2:
    """The TPP granted recurring-payments, with a client_credentials token from the authorisation server."""
    client = oauth.actor.client
    client.scopes = sorted({*client.scopes, "recurring-payments"})
    client.save(update_fields=["scopes"])
    token = oauth.post_form("/auth/token", {"grant_type": "client_credentials", "scope": "recurring-payments"})
    assert token.status_code == 200, token.text
    return AutomaticPaymentsV2(tpp=oauth.actor, token=token.json()["access_token"])


def error_codes(body: Any) -> list[str]:
    return [error["code"] for error in body["errors"]]
