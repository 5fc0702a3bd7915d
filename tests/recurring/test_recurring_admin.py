"""Staff views: lists with filters, history, and the cancel action going through the service."""

import datetime as dt

from django.contrib.auth import get_user_model

from opusof.timeutil import business_date
from recurring.models import RecurringConsent, RecurringPayment
from tests.support.recurring_bodies import (
    ANA_ACCOUNT,
    automatic_consent,
    automatic_payment,
    own,
    sweeping_consent,
    week_reference,
)


def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("staff", "staff@example.com", "pw"))
    return client


def test_lists_filter_and_show_history(ap2, client):
    consent_id = ap2.authorised_consent(automatic_consent(), debtor=own(ANA_ACCOUNT))
    awaiting = ap2.create_consent(sweeping_consent())
    payment = ap2.pay(consent_id, automatic_payment())
    client = staff_client(client)
    listing = client.get("/admin/recurring/recurringconsent/?status__exact=AUTHORISED")
    assert listing.status_code == 200
    assert consent_id.encode() in listing.content
    assert awaiting.encode() not in listing.content
    pk = RecurringPayment.objects.get(recurring_payment_id=payment["recurringPaymentId"]).pk
    page = client.get(f"/admin/recurring/recurringpayment/{pk}/change/")
    assert page.status_code == 200
    assert b"system:bank" in page.content  # the history row of RCVD -> SCHD


def test_staff_cancel_action(ap2, client):
    consent_id = ap2.authorised_consent(automatic_consent(interval="SEMANAL"), debtor=own(ANA_ACCOUNT))
    soon, later = business_date() + dt.timedelta(days=3), business_date() + dt.timedelta(days=10)
    payment = ap2.pay(consent_id, automatic_payment(day=soon, paymentReference=week_reference(soon)))
    late = ap2.pay(consent_id, automatic_payment(day=later, paymentReference=week_reference(later)))
    RecurringPayment.objects.filter(recurring_payment_id=late["recurringPaymentId"]).update(date=business_date())
    rows = RecurringPayment.objects.filter(
        recurring_payment_id__in=[payment["recurringPaymentId"], late["recurringPaymentId"]]
    )
    response = staff_client(client).post(
        "/admin/recurring/recurringpayment/",
        {"action": "cancel_scheduled", "_selected_action": [str(row.pk) for row in rows]},
        follow=True,
    )
    assert response.status_code == 200
    cancelled = RecurringPayment.objects.get(recurring_payment_id=payment["recurringPaymentId"])
    assert (cancelled.status, cancelled.cancelled_from) == ("CANC", "DETENTORA")
    assert list(cancelled.history.values_list("actor", flat=True))[-1] == "staff:staff"
    assert RecurringPayment.objects.get(recurring_payment_id=late["recurringPaymentId"]).status == "SCHD"
    assert b"Prazo para cancelamento encerrado" in response.content


def test_partially_accepted_consent_expires_at_the_end_of_its_due_date(ap2):
    from opusof.ofb import account_from_wire
    from recurring.services.consents import recurring_consent_authorise

    consent_id = ap2.create_consent(sweeping_consent())
    recurring_consent_authorise(
        recurring_consent_id=consent_id,
        debtor_account=account_from_wire(own(ANA_ACCOUNT)),
        actor="customer:ana",
        approvals_required=2,
    )
    consent = RecurringConsent.objects.get(recurring_consent_id=consent_id)
    assert consent.authorisation_deadline.date() >= business_date()
    RecurringConsent.objects.filter(pk=consent.pk).update(
        authorisation_deadline=consent.authorisation_deadline - dt.timedelta(days=1)
    )
    fetched = ap2.get_consent(consent_id)
    assert fetched["status"] == "REJECTED"
    assert fetched["rejection"]["reason"]["code"] == "TEMPO_EXPIRADO_AUTORIZACAO"
