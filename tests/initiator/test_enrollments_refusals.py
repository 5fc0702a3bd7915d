"""Every refusal initiator_vinculoDeDispositivo.md names, over real HTTP against our holder: each reaches the
application as the holder's regulated error (its status and code, ``x-origin-error: participant``, Opus's error
shape), and the gateway's mirror of the consent or enrollment follows the holder."""

import datetime as dt
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from enrollments.models import Enrollment
from enrollments.services import enrollment_cancel_by_customer
from initiator.models import (
    ApplicationNotification,
    HolderCall,
    InitiatorConsent,
    InitiatorEnrollment,
    InitiatorPayment,
)
from initiator.services.notifications import notifications_deliver
from opusof.outbox.services import outbox_claim_due, webhook_deliver
from payments.models import PixPayment
from tests.initiator.conftest import CALLBACK, Gateway
from tests.initiator.holder_proxy import HolderProxy
from tests.support.initiator_enrollments import AppDevice, regulated_error
from tests.support.payment_bodies import ANA_ACCOUNT, ANA_CPF, consent_data, own, payment_item


@pytest.fixture
def app(gateway: Gateway) -> AppDevice:
    return AppDevice(gateway, callback=CALLBACK)


def _consent(gateway: Gateway, **data: Any) -> str:
    created = gateway.create_consent(consent_data(**data))
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["consentId"])


@pytest.mark.django_db(transaction=True)
def test_a_consent_for_another_debit_account_is_refused_and_rejected(gateway: Gateway, app: AppDevice):
    enrollment_id = app.enrolled()  # bound to Ana's 10000001
    consent_id = _consent(gateway, amount="20.00", debtor=own({**ANA_ACCOUNT, "number": "10000002"}))
    refused = app.authorise(consent_id, enrollment_id, app.sign(enrollment_id, consent_id))
    regulated_error(refused, "CONTA_DEBITO_DIVERGENTE_CONSENTIMENTO_VINCULO")
    consent = InitiatorConsent.objects.get(consent_id=consent_id)
    assert consent.status == "REJECTED"
    assert consent.holder_data["rejectionReason"]["code"] == "CONTA_NAO_PERMITE_PAGAMENTO"
    assert consent.enrollment_id is None
    assert InitiatorEnrollment.objects.get(enrollment_id=enrollment_id).status == "AUTHORISED"


@pytest.mark.django_db(transaction=True)
def test_risk_signals_after_the_window_are_refused_and_the_enrollment_rejected(gateway: Gateway, app: AppDevice):
    enrollment_id = app.created()
    # 16 minutes pass at the holder (Opus: risk signals within 15 minutes of the creation).
    past = timezone.now() - dt.timedelta(minutes=16)
    Enrollment.objects.filter(enrollment_id=enrollment_id).update(
        created_at=past, status_updated_at=past, deadline_at=past + dt.timedelta(minutes=15)
    )
    refused = app.risk_signals(enrollment_id)
    regulated_error(refused, "STATUS_VINCULO_INVALIDO")
    assert "redirectUrl" not in refused.text
    mirror = InitiatorEnrollment.objects.get(enrollment_id=enrollment_id)
    assert (mirror.status, mirror.cancellation_reason) == ("REJECTED", "REJEITADO_TEMPO_EXPIRADO_RISK_SIGNALS")
    assert mirror.authorisation_url == ""
    [change] = mirror.history.all()
    assert (change.to_status, change.reason) == ("REJECTED", "REJEITADO_TEMPO_EXPIRADO_RISK_SIGNALS")


@pytest.mark.django_db(transaction=True)
def test_an_assertion_of_another_key_is_refused(gateway: Gateway, app: AppDevice):
    enrollment_id = app.enrolled()
    consent_id = _consent(gateway, amount="21.00")
    forged = app.sign(enrollment_id, consent_id, key=ec.generate_private_key(ec.SECP256R1()))
    refused = app.authorise(consent_id, enrollment_id, forged)
    regulated_error(refused, "RISCO")
    assert InitiatorConsent.objects.get(consent_id=consent_id).status == "REJECTED"
    # Nothing authorised the consent: the gateway has no token to pay it with and never calls the holder.
    response = gateway.pay(consent_id, [payment_item(consent_data(amount="21.00"))], key="forged-1")
    assert (response.status_code, response.headers["x-origin-error"]) == (422, "opus-tpp"), response.text
    assert response.json()["errors"][0]["code"] == "CONSENTIMENTO_NAO_AUTORIZAVEL"
    assert not InitiatorPayment.objects.filter(idempotency_key="forged-1").exists()
    assert not PixPayment.objects.filter(consent__consent_id=consent_id).exists()


@pytest.mark.django_db(transaction=True)
def test_a_revoked_enrollment_neither_signs_nor_pays(gateway: Gateway, app: AppDevice):
    enrollment_id = app.enrolled()
    data = consent_data(amount="22.00")
    consent_id = _consent(gateway, amount="22.00")
    authorised = app.authorise(consent_id, enrollment_id, app.sign(enrollment_id, consent_id))
    assert authorised.status_code == 204, authorised.text

    # Rejection reasons are for enrollments not yet AUTHORISED; an AUTHORISED one is revoked.
    wrong_kind = app.patch(enrollment_id, {"rejectionReason": "REJEITADO_MANUALMENTE"})
    regulated_error(wrong_kind, "MOTIVO_REVOGACAO")
    revoked = app.patch(
        enrollment_id,
        {"revocationReason": "REVOGADO_MANUALMENTE"},
        cancelledBy={"document": {"identification": ANA_CPF, "rel": "CPF"}},
    )
    assert revoked.status_code == 204, revoked.text
    mirror = InitiatorEnrollment.objects.get(enrollment_id=enrollment_id)
    assert (mirror.status, mirror.cancellation_reason) == ("REVOKED", "REVOGADO_MANUALMENTE")

    other_consent = _consent(gateway, amount="23.00")
    regulated_error(app.sign_options(enrollment_id, other_consent), "STATUS_VINCULO_INVALIDO")
    # The consent authorised before the revocation is not paid with the revoked enrollment's token (payments v4
    # §2.1.2: 401 UNAUTHORIZED).
    refused = gateway.pay(consent_id, [payment_item(data)], key="revoked-1")
    regulated_error(refused, "UNAUTHORIZED", status=401)
    assert InitiatorPayment.objects.get(idempotency_key="revoked-1").status == "RJCT"
    assert not PixPayment.objects.filter(consent__consent_id=consent_id).exists()


def _deliver_holder_webhooks() -> int:
    token, ids = outbox_claim_due()
    return sum(1 for event_id in ids if webhook_deliver(event_id=event_id, token=token))


@pytest.mark.django_db(transaction=True)
def test_a_revocation_at_the_holder_reaches_the_application(
    gateway: Gateway, app: AppDevice, app_webhook: tuple[str, Any], eager_celery: None
):
    url, hook = app_webhook
    gateway.application.webhook_url = url
    gateway.application.save()
    enrollment_id = app.enrolled()
    # Ana revokes it at the bank ("Minhas autorizações"); the holder's webhook pings the gateway, which reads it.
    enrollment_cancel_by_customer(enrollment_id=enrollment_id, document=ANA_CPF)
    _deliver_holder_webhooks()
    mirror = InitiatorEnrollment.objects.get(enrollment_id=enrollment_id)
    assert mirror.status == "REVOKED"
    assert "holder:webhook" in {h.actor for h in mirror.history.all()}
    notifications_deliver()
    changes = [(n["data"]["type"], n["data"]["id"], n["data"]["status"]) for n in hook.received]
    kind = "INITIATOR_ENROLLMENT"
    assert [status for k, i, status in changes if (k, i) == (kind, enrollment_id)] == [
        "AWAITING_ACCOUNT_HOLDER_VALIDATION",
        "AWAITING_ENROLLMENT",
        "AUTHORISED",
        "REVOKED",
    ]
    assert ApplicationNotification.objects.exclude(state="DELIVERED").count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_failed_authorisation_request_is_pushed_again_without_resending_the_signals(
    proxied_gateway: tuple[Gateway, HolderProxy],
):
    gateway, proxy = proxied_gateway
    app = AppDevice(gateway, callback=CALLBACK)
    enrollment_id = app.created()
    proxy.prefix, proxy.mode = "/auth/par", "down"
    failed = app.risk_signals(enrollment_id)
    assert (failed.status_code, failed.headers["x-origin-error"]) == (502, "participant"), failed.text
    mirror = InitiatorEnrollment.objects.get(enrollment_id=enrollment_id)
    assert (mirror.status, mirror.authorisation_url) == ("AWAITING_ACCOUNT_HOLDER_VALIDATION", "")
    proxy.mode = "up"
    again = app.risk_signals(enrollment_id)
    assert again.status_code == 201, again.text
    assert HolderCall.objects.filter(enrollment=mirror, operation="risk-signals").count() == 1
    back = app.customer_approves(again.json()["data"]["redirectUrl"])
    assert back.headers["location"] == f"{CALLBACK}?result=success"
    assert InitiatorEnrollment.objects.get(pk=mirror.pk).status == "AWAITING_ENROLLMENT"
