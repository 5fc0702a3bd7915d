"""Proxy payments (payments v4 pix): the application sends plain JSON; the gateway signs it, calls the holder with
the consent's token and the application's ``x-idempotency-key``, verifies the signed answer and returns it as JSON
with the holder's status code.

Record before effect: the payment row, unique on (application, key), is committed before the holder is called. If
the holder's answer is lost (timeout, 5xx, unverifiable), the row stays SUBMITTING and the same key is sent again
— by the application's retry or by the poller — so the holder answers the original payment instead of making a
second one."""

import contextlib
import copy
import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from initiator.errors import (
    ConsentNotAuthorisable,
    HolderUnreachable,
    IdempotencyConflict,
    NotFound,
    ParameterInvalid,
    ParameterMissing,
)
from initiator.models import Application, ConsentProduct, InitiatorConsent, InitiatorPayment, PaymentStatus
from initiator.services import participants as directory
from initiator.services.authorisation import payment_token
from initiator.services.consents import (
    HOLDER_FAILURES,
    HolderReply,
    consent_for,
    consent_refresh,
    holder_failure,
)
from initiator.services.holder import CallLog, client_credentials_token, fapi_for
from initiator.services.products import product_of
from initiator.services.tracking import payment_apply, payment_data, rejection_reason

MAX_IDEMPOTENCY_KEY = 40
STALE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
SUBMISSION_GRACE = dt.timedelta(seconds=30)


def pix_url(consent: InitiatorConsent) -> tuple[str, str]:
    """The newest pix endpoint of the consent's product the holder serves (payments v4, automatic payments v2;
    yml RegulatoryVersion: on proxy routes, the newest version of the major in the path)."""
    product = product_of(consent.product)
    served = directory.served_versions(consent.participant, product.pix_family)
    version = directory.select_version(product.major, list(served))
    if version is None:
        raise ParameterInvalid(f"A detentora não oferece {product.pix_family} v{product.major}.")
    return served[version], version


def _cc_token(fapi: Any, consent: InitiatorConsent) -> str:
    return client_credentials_token(fapi, consent.participant, product_of(consent.product).scope)


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _record(application: Application, consent: InitiatorConsent, key: str, body: dict[str, Any]) -> InitiatorPayment:
    digest = _hash(body)
    try:
        with transaction.atomic():
            return InitiatorPayment.objects.create(
                application=application,
                consent=consent,
                idempotency_key=key,
                request_hash=digest,
                request_body=body,
                # The poller leaves the call in flight alone; it resends only what stayed unanswered.
                next_poll_at=timezone.now() + SUBMISSION_GRACE,
            )
    except IntegrityError:
        existing = InitiatorPayment.objects.get(application=application, idempotency_key=key)
        if existing.request_hash != digest or existing.consent_id != consent.pk:
            raise IdempotencyConflict("x-idempotency-key já usada com outro conteúdo.") from None
        return existing


def _non_redirect(consent: InitiatorConsent, body: dict[str, Any]) -> dict[str, Any]:
    """payments v4 POST /pix/payments with the enrollment's token (NonRedirectAuthorizationCode): every item names
    its consent and ``authorisationFlow: FIDO_FLOW``; the gateway fills them in when the application left them out."""
    if consent.enrollment_id is None:
        return body
    filled = copy.deepcopy(body)
    items = filled["data"] if isinstance(filled["data"], list) else [filled["data"]]
    for item in items:
        if isinstance(item, dict):
            item.setdefault("authorisationFlow", "FIDO_FLOW")
            item.setdefault("consentId", consent.consent_id)
    return filled


def payment_create(
    *,
    application: Application,
    authorisation_server_id: str,
    consent_id: str,
    idempotency_key: str,
    body: Any,
    interaction_id: str = "",
    customer_headers: dict[str, str] | None = None,
    product: str = ConsentProduct.PAYMENTS,
) -> HolderReply:
    if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY or idempotency_key != idempotency_key.strip():
        raise ParameterMissing("x-idempotency-key ausente ou inválida.")
    if not isinstance(body, dict) or not isinstance(body.get("data"), list | dict):
        raise ParameterMissing("Corpo deve conter data.")
    consent = consent_for(application, consent_id, authorisation_server_id, product)
    if not consent.access_token and consent.enrollment_id is None:
        # Neither the redirect's token nor an enrollment's (authorise without redirect): nothing to pay it with.
        raise ConsentNotAuthorisable(f"Consentimento {consent.status} sem autorização do cliente para pagar.")
    payment = _record(application, consent, idempotency_key, _non_redirect(consent, body))
    url, version = pix_url(consent)
    if payment.holder_status_code is not None:  # answered before: the same answer
        return HolderReply(payment.holder_status_code, payment.create_answer, version)
    return payment_submit(
        payment=payment, url=url, version=version, interaction_id=interaction_id, customer_headers=customer_headers
    )


def payment_submit(
    *,
    payment: InitiatorPayment,
    url: str,
    version: str,
    interaction_id: str = "",
    customer_headers: dict[str, str] | None = None,
) -> HolderReply:
    """Sends (or re-sends, with the same key) a recorded payment and takes the holder's answer."""
    consent = payment.consent
    fapi = fapi_for(consent.participant, log=CallLog(consent.participant, consent=consent, payment=payment))
    try:
        token = payment_token(consent=consent, fapi=fapi)
        answer = fapi.api(
            "payment-create",
            "POST",
            url,
            token=token,
            data=payment.request_body,
            idempotency_key=payment.idempotency_key,
            interaction_id=interaction_id,
            customer_headers=customer_headers,
        )
    except HOLDER_FAILURES as exc:
        failure = holder_failure(exc, url)
        InitiatorPayment.objects.filter(pk=payment.pk).update(last_error=str(failure.detail)[:1024])
        raise failure from exc
    with transaction.atomic():
        locked = InitiatorPayment.objects.select_for_update().select_related("application").get(pk=payment.pk)
        locked.holder_status_code = answer.status_code
        locked.create_answer = answer.body
        locked.last_error = ""
        if answer.status_code == 201:
            data = payment_data(answer.body)
            locked.payment_id = str(data.get(product_of(consent.product).payment_id_name, "")) or None
            payment_apply(locked, status=str(data.get("status", "")), body=answer.body, actor="holder:create")
            _record_siblings(locked, answer.body)
        else:
            # Refused (422 business rule, 4xx request): no payment at the holder; the key keeps this answer.
            codes = ", ".join(str(e.get("code", "")) for e in answer.body.get("errors", []) if isinstance(e, dict))
            payment_apply(
                locked, status=PaymentStatus.RJCT, body=answer.body, actor="holder:create", reason=codes[:2048]
            )
    if answer.status_code == 201 and consent.product == ConsentProduct.PAYMENTS:
        # The holder consumed the consent (payments v4 §"Consumo"): the copy here is stale until read again.
        InitiatorConsent.objects.filter(pk=consent.pk).update(holder_read_at=STALE, next_poll_at=timezone.now())
    if answer.status_code == 422:
        # The holder rejected the consent with the payment; if it cannot be read now, the poller reads it later.
        with contextlib.suppress(*HOLDER_FAILURES, HolderUnreachable):
            consent_refresh(consent=consent, actor="payment-refused")
    return HolderReply(answer.status_code, answer.body, version, url, answer.interaction_id)


def _record_siblings(first: InitiatorPayment, body: dict[str, Any]) -> None:
    """A scheduled series (payments v4 ``schedule`` daily/weekly/monthly/custom) is one request answered with one
    payment per date: each beyond the first gets its own row (key ``<key>#<n>``), so each is tracked and notified."""
    listed = body.get("data")
    items = listed if isinstance(listed, list) else []
    for index, item in enumerate(items[1:], start=1):
        if not isinstance(item, dict) or not item.get("paymentId"):
            continue
        sibling, created = InitiatorPayment.objects.get_or_create(
            application=first.application,
            idempotency_key=f"{first.idempotency_key}#{index}",
            defaults={
                "consent": first.consent,
                "request_hash": first.request_hash,
                "request_body": first.request_body,
                "payment_id": str(item["paymentId"]),
                "holder_status_code": first.holder_status_code,
                "create_answer": body,
            },
        )
        if created:
            payment_apply(sibling, status=str(item.get("status", "")), body={"data": item}, actor="holder:create")


def payment_for(application: Application, payment_id: str, product: str = ConsentProduct.PAYMENTS) -> InitiatorPayment:
    payment = (
        InitiatorPayment.objects.select_related("consent__participant", "application")
        .filter(application=application, payment_id=payment_id, consent__product=product)
        .first()
    )
    if payment is None:
        raise NotFound("Pagamento não encontrado.")
    return payment


def payment_read(*, payment: InitiatorPayment, actor: str) -> HolderReply:
    """GET the payment at the holder (client_credentials) and take its status."""
    consent = payment.consent
    base, version = pix_url(consent)
    url = f"{base}/{payment.payment_id}"
    fapi = fapi_for(consent.participant, log=CallLog(consent.participant, consent=consent, payment=payment))
    try:
        answer = fapi.api("payment-get", "GET", url, token=_cc_token(fapi, consent))
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc
    if answer.status_code == 200:
        data = payment_data(answer.body)
        with transaction.atomic():
            locked = InitiatorPayment.objects.select_for_update().select_related("application").get(pk=payment.pk)
            payment_apply(
                locked, status=str(data.get("status", "")), body=answer.body, actor=actor, reason=rejection_reason(data)
            )
    return HolderReply(answer.status_code, answer.body, version, url, answer.interaction_id)


def payment_cancel(*, payment: InitiatorPayment, body: Any) -> HolderReply:
    """PATCH the payment at the holder (payments v4 cancellation of SCHD/PDNG)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ParameterMissing("Corpo deve conter data.")
    consent = payment.consent
    base, version = pix_url(consent)
    url = f"{base}/{payment.payment_id}"
    fapi = fapi_for(consent.participant, log=CallLog(consent.participant, consent=consent, payment=payment))
    try:
        answer = fapi.api("payment-cancel", "PATCH", url, token=_cc_token(fapi, consent), data=body)
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc
    if answer.status_code == 200:
        data = payment_data(answer.body)
        with transaction.atomic():
            locked = InitiatorPayment.objects.select_for_update().select_related("application").get(pk=payment.pk)
            payment_apply(locked, status=str(data.get("status", "")), body=answer.body, actor="application:cancel")
    return HolderReply(answer.status_code, answer.body, version, url, answer.interaction_id)


def payments_cancel_all(*, application: Application, consent_id: str, body: Any, idempotency_key: str) -> HolderReply:
    """PATCH /pix/payments/consents/{consentId}: every SCHD/PDNG payment of the consent, at the holder (payments
    v4 requires an x-idempotency-key here: the application's, else one for this call)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ParameterMissing("Corpo deve conter data.")
    consent = consent_for(application, consent_id)
    base, version = pix_url(consent)
    url = f"{base}/consents/{consent.consent_id}"
    fapi = fapi_for(consent.participant, log=CallLog(consent.participant, consent=consent))
    try:
        answer = fapi.api(
            "payments-cancel-all",
            "PATCH",
            url,
            token=client_credentials_token(fapi, consent.participant),
            data=body,
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        )
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc
    if answer.status_code == 200:
        listed = answer.body.get("data")
        items = listed if isinstance(listed, list) else []
        cancelled = {str(item.get("paymentId")) for item in items if isinstance(item, dict)}
        for payment in InitiatorPayment.objects.filter(consent=consent, payment_id__in=cancelled):
            with transaction.atomic():
                locked = InitiatorPayment.objects.select_for_update().select_related("application").get(pk=payment.pk)
                payment_apply(
                    locked, status=PaymentStatus.CANC, body=locked.holder_body, actor="application:cancel-all"
                )
    return HolderReply(answer.status_code, answer.body, version, url, answer.interaction_id)
