"""Automatic payments API 2.0.0 under /open-banking/automatic-payments/v2/."""

import datetime as dt
import re
from functools import cache
from typing import Any

from django.urls import reverse
from jsonschema import FormatChecker
from jsonschema.exceptions import best_match
from rest_framework.request import Request
from rest_framework.response import Response

from opusof.api.authentication import request_client, request_token
from opusof.api.errors import Forbidden, UnsupportedMediaType
from opusof.api.headers import IDEMPOTENCY_KEY_HEADER
from opusof.api.idempotency import idempotent
from opusof.api.responses import meta, self_link
from opusof.api.schema import regulated_operation
from opusof.api.views import OfbApiView
from opusof.errors import ParameterInvalid, ParameterMissing
from opusof.specs import SpecValidator, load_spec, request_body_validator, to_regulated
from recurring.api.serializers import recurring_consent_to_wire, recurring_payment_to_wire
from recurring.expiry import recurring_consent_refresh
from recurring.models import Channel, RecurringConsentStatus
from recurring.selectors import (
    recurring_consent_get_for_client,
    recurring_payment_get_for_client,
    recurring_payments_list_for_client,
)
from recurring.services.amendments import recurring_consent_edit, recurring_consent_revoke
from recurring.services.cancellation import recurring_payment_cancel
from recurring.services.charges import recurring_payment_create
from recurring.services.consents import recurring_consent_create, recurring_consent_reject

SPEC = "automatic-payments-2.0.0.yml"
API_VERSION = "2.0.0"
NS = "automatic-payments-v2"
_DATE = re.compile(r"^(\d{4})-(1[0-2]|0?[1-9])-(3[01]|[12][0-9]|0?[1-9])$", re.ASCII)
_PAYMENT_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-]{0,99}$")


class RecurringApiView(OfbApiView):
    """Token scope ``recurring-payments`` (the spec's security of every operation)."""

    required_scopes = frozenset({"recurring-payments"})

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # components.headers.X-V: the implemented version of the API, on the responses that declare it.
        response["x-v"] = API_VERSION
        return response

    def check_body(self, request: Request) -> None:
        try:
            super().check_body(request)
        except UnsupportedMediaType as exc:
            # This spec documents no 415 (its responses: 400, 401, 403, 404, 405, 406, 422, 5xx): a body that is not
            # application/jwt is a bad request.
            exc.status_code = 400
            raise

    def parameter_error_status(self, request: Request) -> int:
        # The 422 of both POSTs and both PATCHes admits PARAMETRO_NAO_INFORMADO / PARAMETRO_INVALIDO; GETs have none.
        return 422 if request.method in ("POST", "PATCH") else 400


@cache
def _patch_consent_validators() -> dict[str, Any]:
    """PatchRecurringConsent's ``data`` is a oneOf whose branches have no required discriminator (an edition body
    also matches the revocation and rejection branches), so the branch is picked by ``status`` and validated alone."""
    schemas = load_spec(SPEC)["components"]["schemas"]
    return {
        name: SpecValidator(schemas[name], format_checker=FormatChecker())
        for name in ("ConsentEdition", "ConsentRevocation", "ConsentRejection")
    }


def _validate_patch_consent(body: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ParameterMissing("Campo obrigatório não informado: data.")
    data: dict[str, Any] = body["data"]
    branch = {"REVOKED": "ConsentRevocation", "REJECTED": "ConsentRejection"}.get(
        str(data.get("status")), "ConsentEdition"
    )
    if "status" in data and branch == "ConsentEdition":
        raise ParameterInvalid("data.status deve ser REVOKED ou REJECTED.")
    error = best_match(_patch_consent_validators()[branch].iter_errors(data))
    if error is not None:
        raise to_regulated(error)
    block = {"ConsentRevocation": "revocation", "ConsentRejection": "rejection"}.get(branch)
    if block and block not in data:
        raise ParameterMissing(f"Campo obrigatório não informado: data.{block}.")
    if block and "reason" not in data[block]:
        raise ParameterMissing(f"Campo obrigatório não informado: data.{block}.reason.")
    return branch, data


class RecurringConsentCreateApi(RecurringApiView):
    """POST /recurring-consents (automaticPaymentsPostRecurringConsents)."""

    idempotency_key_required = True

    @regulated_operation(SPEC, "automaticPaymentsPostRecurringConsents")
    @idempotent("automatic-payments-v2:recurring-consents-create")
    def post(self, request: Request) -> Response:
        request_body_validator(SPEC, "automaticPaymentsPostRecurringConsents")(request.data)
        consent = recurring_consent_create(client=request_client(request), data=request.data["data"])
        path = reverse(f"{NS}:recurring-consent-detail", kwargs={"recurring_consent_id": consent.recurring_consent_id})
        return Response(
            {"data": recurring_consent_to_wire(consent), "links": self_link(request, path), "meta": meta()},
            status=201,
        )


class RecurringConsentDetailApi(RecurringApiView):
    """GET and PATCH (revoke, reject, edit) /recurring-consents/{recurringConsentId}."""

    idempotency_key_required = True

    @regulated_operation(SPEC, "automaticPaymentsGetRecurringConsentsConsentId")
    def get(self, request: Request, recurring_consent_id: str) -> Response:
        consent = recurring_consent_refresh(
            consent=recurring_consent_get_for_client(
                client=request_client(request), recurring_consent_id=recurring_consent_id
            )
        )
        return Response({"data": recurring_consent_to_wire(consent), "links": self_link(request), "meta": meta()})

    @regulated_operation(SPEC, "automaticPaymentsPatchRecurringConsentsConsentId")
    @idempotent("automatic-payments-v2:recurring-consents-patch", atomic=False)
    def patch(self, request: Request, recurring_consent_id: str) -> Response:
        branch, data = _validate_patch_consent(request.data)
        client = request_client(request)
        actor = f"tpp:{client.client_id}"
        if branch == "ConsentEdition":
            consent = recurring_consent_edit(client=client, recurring_consent_id=recurring_consent_id, data=data)
        else:
            block = data["revocation" if branch == "ConsentRevocation" else "rejection"]
            if block.get("revokedFrom", block.get("rejectedFrom")) != Channel.INICIADORA:
                # Through this API the request always comes from the initiator's channel.
                raise ParameterInvalid("revokedFrom/rejectedFrom deve ser INICIADORA nesta API.")
            reason = block["reason"]
            common = {
                "recurring_consent_id": recurring_consent_id,
                "code": reason["code"],
                "detail": reason.get("detail", ""),
                "actor": actor,
                "client": client,
            }
            if data["status"] == RecurringConsentStatus.REVOKED:
                consent = recurring_consent_revoke(
                    revoked_by=block["revokedBy"], revoked_from=block["revokedFrom"], **common
                )
            else:
                consent = recurring_consent_reject(
                    rejected_by=block["rejectedBy"], rejected_from=block["rejectedFrom"], **common
                )
        return Response({"data": recurring_consent_to_wire(consent), "links": self_link(request), "meta": meta()})


def _bad_request(error: ParameterInvalid | ParameterMissing) -> ParameterInvalid | ParameterMissing:
    """GET operations document no 422: query parameter problems are 400 with the regulated body."""
    error.status_code = 400
    return error


def _query_date(request: Request, name: str) -> dt.date | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        if not _DATE.match(value) or len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise _bad_request(ParameterInvalid(f"Parâmetro {name} inválido.")) from exc


class RecurringPaymentsApi(RecurringApiView):
    """POST /pix/recurring-payments (authorization_code token bound to the consent) and GET (list by consent)."""

    idempotency_key_required = True

    def get_grant_types(self, request: Request) -> frozenset[str]:
        return (
            frozenset({"authorization_code"})
            if request.method == "POST"
            else frozenset({"client_credentials", "authorization_code"})
        )

    def check_grant(self, request: Request) -> None:
        self.allowed_grant_types = self.get_grant_types(request)
        self.required_scopes = (
            frozenset({"openid", "recurring-payments"})
            if request.method == "POST"
            else frozenset({"recurring-payments"})
        )
        super().check_grant(request)

    @regulated_operation(SPEC, "automaticPaymentsPostPixRecurringPayments")
    @idempotent("automatic-payments-v2:pix-recurring-payments-create", atomic=False)
    def post(self, request: Request) -> Response:
        request_body_validator(SPEC, "automaticPaymentsPostPixRecurringPayments")(request.data)
        token = request_token(request)
        if not token.consent_id or f"recurring-consent:{token.consent_id}" not in token.scopes:
            # Security scheme OAuth2AuthorizationCode: openid recurring-consent:{recurringConsentId} recurring-payments.
            raise Forbidden("Token não vinculado a um consentimento recorrente (escopo recurring-consent:{id}).")
        payment = recurring_payment_create(
            client=request_client(request),
            recurring_consent_id=token.consent_id,
            data=request.data["data"],
            # The key travels with the payment: a retry of this request after a crash resumes it.
            request_key=request.headers.get(IDEMPOTENCY_KEY_HEADER, ""),
        )
        path = reverse(
            f"{NS}:pix-recurring-payment-detail", kwargs={"recurring_payment_id": payment.recurring_payment_id}
        )
        return Response(
            {"data": recurring_payment_to_wire(payment), "links": self_link(request, path), "meta": meta()},
            status=201,
        )

    @regulated_operation(SPEC, "automaticPaymentsGetPixRecurringPayments")
    def get(self, request: Request) -> Response:
        consent_id = request.query_params.get("recurringConsentId")
        if not consent_id:
            raise _bad_request(ParameterMissing("Parâmetro recurringConsentId obrigatório não informado."))
        token = request_token(request)
        if token.consent_id and token.consent_id != consent_id:
            raise _bad_request(ParameterInvalid("recurringConsentId diverge do consentimento do token."))
        start, end = _query_date(request, "startDate"), _query_date(request, "endDate")
        if start is not None and end is not None and start > end:
            raise _bad_request(ParameterInvalid("startDate posterior a endDate."))
        original = request.query_params.get("originalRecurringPaymentId")
        if original is not None and not _PAYMENT_ID.match(original):
            raise _bad_request(ParameterInvalid("Parâmetro originalRecurringPaymentId inválido."))
        payments = recurring_payments_list_for_client(
            client=request_client(request),
            recurring_consent_id=consent_id,
            start_date=start,
            end_date=end,
            original_recurring_payment_id=original,
        )
        return Response(
            {"data": [recurring_payment_to_wire(p) for p in payments], "links": self_link(request), "meta": meta()}
        )


class RecurringPaymentDetailApi(RecurringApiView):
    """GET and PATCH (cancel) /pix/recurring-payments/{recurringPaymentId}."""

    allowed_grant_types = frozenset({"client_credentials", "authorization_code"})
    idempotency_key_required = True

    @regulated_operation(SPEC, "automaticPaymentsGetPixRecurringPaymentsPaymentId")
    def get(self, request: Request, recurring_payment_id: str) -> Response:
        payment = recurring_payment_get_for_client(
            client=request_client(request), recurring_payment_id=recurring_payment_id
        )
        return Response({"data": recurring_payment_to_wire(payment), "links": self_link(request), "meta": meta()})

    @regulated_operation(SPEC, "automaticPaymentsPatchPixRecurringPaymentsPaymentId")
    @idempotent("automatic-payments-v2:pix-recurring-payments-patch", atomic=False)
    def patch(self, request: Request, recurring_payment_id: str) -> Response:
        request_body_validator(SPEC, "automaticPaymentsPatchPixRecurringPaymentsPaymentId")(request.data)
        data: dict[str, Any] = request.data["data"]
        if data["status"] != "CANC":
            raise ParameterInvalid("data.status deve ser CANC.")
        document = data["cancellation"]["cancelledBy"]["document"]
        client = request_client(request)
        payment = recurring_payment_cancel(
            recurring_payment_id=recurring_payment_id,
            client=client,
            cancelled_from=Channel.INICIADORA,
            document=document["identification"],
            rel=document["rel"],
            actor=f"tpp:{client.client_id}",
        )
        return Response({"data": recurring_payment_to_wire(payment), "links": self_link(request), "meta": meta()})
