"""Scheduled payments (single and recurring) and both cancel endpoints, validated against payments-4.0.0.yml."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from connectors.models import SandboxAccount
from opusof.timeutil import business_date
from payments.batches import payment_batch_submit
from payments.models import PixPayment
from payments.services import payment_poll_status
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.payments_v4 import error_codes


def scheduled(v4, schedule, **kwargs):
    data = consent_data(schedule=schedule, **kwargs)
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    return data, consent_id


def batch_of(body) -> str:
    return str(PixPayment.objects.get(payment_id=body["data"][0]["paymentId"]).batch_id)


def day(offset: int) -> dt.date:
    return business_date() + dt.timedelta(days=offset)


def test_single_schedule_is_scheduled_then_cancelled(v4):
    data, consent_id = scheduled(v4, {"single": {"date": day(3).isoformat()}})
    response, body = v4.post_payments(consent_id, [payment_item(data, day=day(3))])
    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "SCHD"
    assert v4.get_payment(payment["paymentId"])["status"] == "SCHD"

    response, body = v4.cancel_payment(payment["paymentId"])
    assert response.status_code == 200
    cancelled = body["data"]
    assert cancelled["status"] == "CANC"
    assert cancelled["cancellation"]["reason"] == "CANCELADO_AGENDAMENTO"
    assert cancelled["cancellation"]["cancelledFrom"] == "INICIADORA"
    assert cancelled["cancellation"]["cancelledBy"]["document"]["identification"] == "12345678909"
    assert v4.get_payment(payment["paymentId"])["status"] == "CANC"

    again, again_body = v4.cancel_payment(payment["paymentId"])
    assert again.status_code == 422
    assert error_codes(again_body) == ["PAGAMENTO_NAO_PERMITE_CANCELAMENTO"]


def test_settled_payment_cannot_be_cancelled(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data)])
    response, body = v4.cancel_payment(body["data"][0]["paymentId"])
    assert response.status_code == 422
    assert error_codes(body) == ["PAGAMENTO_NAO_PERMITE_CANCELAMENTO"]


def test_pending_payment_cancelled_with_pending_reason(v4):
    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(
        behaviour=SandboxAccount.Behaviour.PENDING_THEN_SETTLE, settle_delay_seconds=3600
    )
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data)])
    assert body["data"][0]["status"] == "PDNG"
    response, body = v4.cancel_payment(body["data"][0]["paymentId"])
    assert response.status_code == 200
    assert body["data"]["cancellation"]["reason"] == "CANCELADO_PENDENCIA"


def test_cancellation_deadline_is_end_of_previous_day(v4):
    data, consent_id = scheduled(v4, {"single": {"date": day(1).isoformat()}})
    _, body = v4.post_payments(consent_id, [payment_item(data, day=day(1))])
    payment_id = body["data"][0]["paymentId"]
    # Past 23:59 Brasilia of the day before: the date has come.
    PixPayment.objects.filter(payment_id=payment_id).update(scheduled_date=business_date())
    response, body = v4.cancel_payment(payment_id)
    assert response.status_code == 422
    assert error_codes(body) == ["PAGAMENTO_NAO_PERMITE_CANCELAMENTO"]


def test_cancel_unknown_payment_is_404(v4):
    response, body = v4.cancel_payment("does-not-exist")
    assert response.status_code == 404


def test_malformed_cancel_body_is_400(v4):
    data, consent_id = scheduled(v4, {"single": {"date": day(3).isoformat()}})
    _, body = v4.post_payments(consent_id, [payment_item(data, day=day(3))])
    payment_id = body["data"][0]["paymentId"]
    response = v4.tpp.patch(
        f"/open-banking/payments/v4/pix/payments/{payment_id}",
        {"data": {"status": "CANC", "cancellation": {"cancelledBy": {"document": {"identification": "123"}}}}},
        token=v4.token,
    )
    body = v4.checked(response, "payment", "patch")
    assert response.status_code == 400
    assert error_codes(body) == ["PARAMETRO_NAO_INFORMADO"]
    assert PixPayment.objects.get(payment_id=payment_id).status == "SCHD"


def test_daily_schedule_is_answered_async_and_all_become_scheduled(v4):
    data, consent_id = scheduled(v4, {"daily": {"startDate": day(2).isoformat(), "quantity": 3}})
    items = [payment_item(data, day=day(2 + i)) for i in range(3)]
    response, body = v4.post_payments(consent_id, items)
    assert response.status_code == 201, body
    assert [p["status"] for p in body["data"]] == ["RCVD"] * 3
    assert [p["endToEndId"] for p in body["data"]] == [item["endToEndId"] for item in items]
    payment_batch_submit(batch_id=batch_of(body))
    assert [v4.get_payment(p["paymentId"])["status"] for p in body["data"]] == ["SCHD"] * 3
    # The batch job is idempotent: running it again changes nothing.
    payment_batch_submit(batch_id=batch_of(body))
    assert PixPayment.objects.filter(status="SCHD").count() == 3

    response, cancel_body = v4.cancel_consent_payments(consent_id)
    assert response.status_code == 200
    assert sorted(p["paymentId"] for p in cancel_body["data"]) == sorted(p["paymentId"] for p in body["data"])
    assert PixPayment.objects.filter(status="CANC", cancelled_from="INICIADORA").count() == 3

    again, again_body = v4.cancel_consent_payments(consent_id)
    assert again.status_code == 422
    assert error_codes(again_body) == ["PAGAMENTO_NAO_PERMITE_CANCELAMENTO"]


def test_cancel_consent_payments_of_unknown_consent_is_404(v4):
    response, _ = v4.cancel_consent_payments("urn:opusof:unknown")
    assert response.status_code == 404


def test_failed_batch_rejects_every_item(v4):
    data, consent_id = scheduled(
        v4, {"weekly": {"dayOfWeek": "SEGUNDA_FEIRA", "startDate": day(1).isoformat(), "quantity": 2}}
    )
    from consents.models import PaymentConsent

    dates = [dt.date.fromisoformat(d) for d in PaymentConsent.objects.get(consent_id=consent_id).scheduled_dates]
    _, body = v4.post_payments(consent_id, [payment_item(data, day=d) for d in dates])
    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(behaviour=SandboxAccount.Behaviour.OFFLINE)
    payment_batch_submit(batch_id=batch_of(body))
    for payment in body["data"]:
        fetched = v4.get_payment(payment["paymentId"])
        assert fetched["status"] == "RJCT"
        assert fetched["rejectionReason"]["code"] == "FALHA_AGENDAMENTO_PAGAMENTOS"


def test_batch_left_unscheduled_for_an_hour_is_rejected_on_read(v4):
    data, consent_id = scheduled(v4, {"daily": {"startDate": day(2).isoformat(), "quantity": 2}})
    _, body = v4.post_payments(consent_id, [payment_item(data, day=day(2 + i)) for i in range(2)])
    PixPayment.objects.update(created_at=timezone.now() - dt.timedelta(minutes=61))
    fetched = v4.get_payment(body["data"][0]["paymentId"])
    assert fetched["rejectionReason"]["code"] == "FALHA_AGENDAMENTO_PAGAMENTOS"
    assert PixPayment.objects.filter(status="RJCT").count() == 2


def test_item_count_must_match_schedule(v4):
    data, consent_id = scheduled(v4, {"daily": {"startDate": day(2).isoformat(), "quantity": 3}})
    response, body = v4.post_payments(consent_id, [payment_item(data, day=day(2 + i)) for i in range(2)])
    assert response.status_code == 422
    assert error_codes(body) == ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"]


def test_item_date_outside_schedule_diverges(v4):
    data, consent_id = scheduled(v4, {"single": {"date": day(5).isoformat()}})
    response, body = v4.post_payments(consent_id, [payment_item(data, day=day(9))])
    assert error_codes(body) == ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"]


def test_monthly_day_31_uses_next_day_in_short_months(v4):
    start = dt.date(business_date().year + 1, 1, 31)
    data, consent_id = scheduled(v4, {"monthly": {"dayOfMonth": 31, "startDate": start.isoformat(), "quantity": 2}})
    # February has no 31st: the TPP sends the endToEndId for 1 March (payments v4 recurring rules).
    items = [payment_item(data, day=start), payment_item(data, day=dt.date(start.year, 3, 1))]
    response, body = v4.post_payments(consent_id, items)
    assert response.status_code == 201, body
    assert sorted(PixPayment.objects.values_list("scheduled_date", flat=True), key=str) == [
        start,
        dt.date(start.year, 3, 1),
    ]


def test_holder_cancels_scheduled_scenario(v4):
    data, consent_id = scheduled(v4, {"single": {"date": day(3).isoformat()}}, amount="1400.00")
    _, body = v4.post_payments(consent_id, [payment_item(data, day=day(3))])
    payment_poll_status(payment_id=body["data"][0]["paymentId"])
    fetched = v4.get_payment(body["data"][0]["paymentId"])
    assert fetched["status"] == "CANC"
    assert fetched["cancellation"]["cancelledFrom"] == "DETENTORA"


def test_staff_cancel_action_in_admin(v4, client):
    data, consent_id = scheduled(v4, {"single": {"date": day(3).isoformat()}})
    _, body = v4.post_payments(consent_id, [payment_item(data, day=day(3))])
    payment = PixPayment.objects.get(payment_id=body["data"][0]["paymentId"])
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(staff)
    response = client.post(
        "/admin/payments/pixpayment/", {"action": "cancel_scheduled", "_selected_action": [payment.pk]}, follow=True
    )
    assert response.status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.cancellation_reason, payment.cancelled_from) == (
        "CANC",
        "CANCELADO_AGENDAMENTO",
        "DETENTORA",
    )
    assert payment.history.values_list("actor", flat=True).last() == "staff:staff"
    fetched = v4.get_payment(payment.payment_id)
    assert fetched["cancellation"]["cancelledBy"]["document"]["identification"] == "12345678909"


def test_admin_lists_and_searches(v4, client):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data)])
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(staff)
    end_to_end = body["data"][0]["endToEndId"]
    for url, needle in [
        (f"/admin/payments/pixpayment/?q={end_to_end}", body["data"][0]["paymentId"]),
        ("/admin/payments/pixpayment/?q=12345678909&status__exact=ACSC", body["data"][0]["paymentId"]),
        ("/admin/consents/paymentconsent/?q=12345678909", consent_id),
        (f"/admin/consents/paymentconsent/?q={consent_id}", consent_id),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert needle in response.content.decode()
    payment = PixPayment.objects.get()
    detail = client.get(f"/admin/payments/pixpayment/{payment.pk}/change/")
    assert detail.status_code == 200
    assert "RCVD" in detail.content.decode() and "ACSC" in detail.content.decode()


def test_same_idempotency_key_on_two_consents_cancels_both(v4):
    cancelled = []
    for _ in range(2):
        data, consent_id = scheduled(v4, {"single": {"date": day(3).isoformat()}})
        _, body = v4.post_payments(consent_id, [payment_item(data, day=day(3))])
        response, cancel_body = v4.cancel_consent_payments(consent_id, idempotency_key="same-key")
        assert response.status_code == 200
        cancelled.append(cancel_body["data"][0]["paymentId"])
    # The key is scoped to the consent in the path: the second request is not a replay of the first.
    assert cancelled[0] != cancelled[1]
    assert PixPayment.objects.filter(status="CANC").count() == 2
