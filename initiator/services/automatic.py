"""Automatic payments v2 through the gateway (initiator_pagamentoAutomatico.md): recurring consents — created,
authorised and read with the payments v4 machinery (initiator.services.consents, product AUTOMATIC_PAYMENTS) and
revoked here — and recurring payments proxied with the same record-before-effect path as payments v4
(initiator.services.payments)."""

import uuid
from typing import Any
from urllib.parse import urlencode

from django.db import transaction

from initiator.errors import ParameterInvalid, ParameterMissing
from initiator.models import Application, ConsentProduct, ConsentStatus, InitiatorConsent
from initiator.services.consents import HOLDER_FAILURES, HolderReply, consent_for, consent_url, holder_failure
from initiator.services.holder import CallLog, client_credentials_token, fapi_for
from initiator.services.payments import payment_create, pix_url
from initiator.services.products import product_of
from initiator.services.tracking import consent_apply

AUTOMATIC = ConsentProduct.AUTOMATIC_PAYMENTS
# automatic-payments-2.0.0.yml PATCH /recurring-consents/{id} (revocation): who and the reasons an initiator sends.
REVOCATION_REASONS = {"REVOGADO_RECEBEDOR", "REVOGADO_USUARIO"}
REVOKED_BY = {"INICIADORA", "USUARIO"}


def _checked_patch(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ParameterMissing("Corpo deve conter o objeto data.")
    if data.get("status") != ConsentStatus.REVOKED:
        return body  # an edit (Pix Automático amounts, expiry): the holder decides
    revocation = data.get("revocation")
    if not isinstance(revocation, dict):
        raise ParameterMissing("data.revocation não informado.")
    reason = revocation.get("reason")
    if not isinstance(reason, dict) or reason.get("code") not in REVOCATION_REASONS:
        raise ParameterInvalid("data.revocation.reason.code deve ser REVOGADO_RECEBEDOR ou REVOGADO_USUARIO.")
    if revocation.get("revokedBy") not in REVOKED_BY or revocation.get("revokedFrom") != "INICIADORA":
        raise ParameterInvalid("revokedBy deve ser INICIADORA ou USUARIO e revokedFrom INICIADORA.")
    return body


def recurring_consent_patch(
    *, application: Application, recurring_consent_id: str, authorisation_server_id: str, body: Any
) -> HolderReply:
    """PATCH the recurring consent at the holder (revocation with the regulated reasons, or an edit) and take
    the status it answers."""
    checked = _checked_patch(body)
    consent = consent_for(application, recurring_consent_id, authorisation_server_id, AUTOMATIC)
    url = consent_url(consent)
    participant = consent.participant
    fapi = fapi_for(participant, log=CallLog(participant, consent=consent))
    try:
        answer = fapi.api(
            "consent-patch",
            "PATCH",
            url,
            token=client_credentials_token(fapi, participant, product_of(AUTOMATIC).scope),
            data=checked,
            idempotency_key=str(uuid.uuid4()),
        )
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc
    if answer.status_code == 200:
        with transaction.atomic():
            locked = InitiatorConsent.objects.select_for_update().select_related("application").get(pk=consent.pk)
            consent_apply(locked, answer.body.get("data") or {}, actor="application:patch")
    return HolderReply(answer.status_code, answer.body, consent.regulatory_version, url, answer.interaction_id)


def recurring_payment_create(
    *,
    application: Application,
    authorisation_server_id: str,
    idempotency_key: str,
    body: Any,
    interaction_id: str = "",
    customer_headers: dict[str, str] | None = None,
) -> HolderReply:
    """POST pix/recurring-payments: the consent is named in the body (``data.recurringConsentId``)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ParameterMissing("Corpo deve conter o objeto data.")
    consent_id = data.get("recurringConsentId")
    if not isinstance(consent_id, str) or not consent_id:
        raise ParameterMissing("data.recurringConsentId não informado.")
    return payment_create(
        application=application,
        authorisation_server_id=authorisation_server_id,
        consent_id=consent_id,
        idempotency_key=idempotency_key,
        body=body,
        interaction_id=interaction_id,
        customer_headers=customer_headers,
        product=AUTOMATIC,
    )


def recurring_payments_list(*, application: Application, query: dict[str, str]) -> HolderReply:
    """GET pix/recurring-payments?recurringConsentId=…: the holder's list for one of the application's consents."""
    consent_id = query.get("recurringConsentId", "")
    if not consent_id:
        raise ParameterMissing("recurringConsentId não informado.")
    consent = consent_for(application, consent_id, product=AUTOMATIC)
    base, version = pix_url(consent)
    url = f"{base}?{urlencode(query)}"
    fapi = fapi_for(consent.participant, log=CallLog(consent.participant, consent=consent))
    try:
        token = client_credentials_token(fapi, consent.participant, product_of(AUTOMATIC).scope)
        answer = fapi.api("payments-list", "GET", url, token=token)
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc
    return HolderReply(answer.status_code, answer.body, version, url, answer.interaction_id)
