"""Selectors only read: a consent past its window comes back as stored, and the read paths that answer with it
apply the expiry through consents.expiry (docs/architecture.md, "Layers")."""

import datetime as dt

from django.utils import timezone

from consents.expiry import consent_refresh
from consents.models import ConsentStatus, PaymentConsent
from consents.selectors import consent_get_for_client, consents_for_customer
from tests.support.payment_bodies import ANA_CPF, consent_data


def test_the_selectors_leave_a_due_consent_as_stored_and_the_refresh_expires_it(v4):
    consent_id = v4.create_consent(consent_data())
    PaymentConsent.objects.filter(consent_id=consent_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    client = PaymentConsent.objects.get(consent_id=consent_id).client

    read = consent_get_for_client(client=client, consent_id=consent_id)
    listed = [c for c in consents_for_customer(customer_document=ANA_CPF) if c.consent_id == consent_id]

    assert read.status == ConsentStatus.AWAITING_AUTHORISATION
    assert [c.status for c in listed] == [ConsentStatus.AWAITING_AUTHORISATION]
    assert not PaymentConsent.objects.get(consent_id=consent_id).history.filter(actor="system:expiry").exists()
    assert consent_refresh(consent=read).status == ConsentStatus.REJECTED
    assert v4.get_consent(consent_id)["rejectionReason"]["code"] == "TEMPO_EXPIRADO_AUTORIZACAO"
