"""POST/GET/PATCH /pix/recurring-payments: every response validated against automatic-payments-2.0.0.yml."""

import datetime as dt
from decimal import Decimal

from connectors.models import SandboxAccount
from connectors.sandbox.bank import SandboxBank
from opusof.timeutil import business_date
from opusof.tokens import access_token_mint
from recurring.models import RecurringPayment
from recurring.services.amendments import recurring_consent_revoke
from recurring.services.charges import recurring_payment_poll_status, recurring_payments_due_for_poll
from tests.support.automatic_payments_v2 import API, error_codes
from tests.support.recurring_bodies import (
    ANA_ACCOUNT,
    BRUNO_ACCOUNT,
    BRUNO_CPF,
    automatic_consent,
    automatic_payment,
    expiry,
    month_reference,
    own,
    sweeping_consent,
    sweeping_payment,
)

MERCHANT_CNPJ = "12345678000195"
ANA_CHECKING = "10000001"


def balance(number: str) -> Decimal:
    return SandboxAccount.objects.get(number=number).balance


def sweeping(ap2, **limits) -> str:
    return ap2.authorised_consent(sweeping_consent(**limits), debtor=own(ANA_ACCOUNT))


def automatic(ap2, **options) -> str:
    debtor = options.pop("debtor", own(ANA_ACCOUNT))
    return ap2.authorised_consent(automatic_consent(**options), debtor=debtor)


def rejected_by_bank(payment_id: str) -> None:
    """The bank's settlement run finds no money (Bruno has R$ 50.00): the charge ends RJCT SALDO_INSUFICIENTE."""
    SandboxBank().force_settle(payment_id)
    recurring_payment_poll_status(recurring_payment_id=payment_id)
    assert RecurringPayment.objects.get(recurring_payment_id=payment_id).status == "RJCT"


# --- happy paths -----------------------------------------------------------------------------------------------------


def test_sweeping_payment_settles_between_own_accounts(ap2):
    consent_id = sweeping(ap2, total="1000.00")
    before = balance(ANA_CHECKING), balance("10000002")
    payment = ap2.pay(consent_id, sweeping_payment("25.00"))
    assert payment["status"] == "ACSC"
    assert payment["recurringConsentId"] == consent_id
    assert payment["debtorAccount"]["number"] == ANA_ACCOUNT["number"]
    assert (balance(ANA_CHECKING), balance("10000002")) == (
        before[0] - Decimal("25.00"),
        before[1] + Decimal("25.00"),
    )
    response, body = ap2.get_payment(payment["recurringPaymentId"])
    assert response.status_code == 200
    assert body["data"]["status"] == "ACSC"
    assert ap2.get_consent(consent_id)["status"] == "AUTHORISED"  # long-lived: never consumed by a payment
    history = RecurringPayment.objects.get(recurring_payment_id=payment["recurringPaymentId"]).history.all()
    assert [(h.from_status, h.to_status) for h in history] == [("", "RCVD"), ("RCVD", "ACSC")]


def test_automatic_charge_is_scheduled_then_settles_on_its_date(ap2):
    consent_id = automatic(ap2)
    payment = ap2.pay(consent_id, automatic_payment("120.00"))
    assert payment["status"] == "SCHD"
    assert payment["paymentReference"] == month_reference(business_date() + dt.timedelta(days=3))
    SandboxBank().force_settle(payment["recurringPaymentId"])
    recurring_payment_poll_status(recurring_payment_id=payment["recurringPaymentId"])
    _, body = ap2.get_payment(payment["recurringPaymentId"])
    assert body["data"]["status"] == "ACSC"


def test_scheduled_charge_is_polled_on_its_date(ap2):
    consent_id = automatic(ap2)
    payment = ap2.pay(consent_id, automatic_payment("120.00"))
    assert payment["recurringPaymentId"] not in recurring_payments_due_for_poll()
    RecurringPayment.objects.filter(recurring_payment_id=payment["recurringPaymentId"]).update(date=business_date())
    assert payment["recurringPaymentId"] in recurring_payments_due_for_poll()


def test_first_payment_reference_zero(ap2):
    first_day = business_date() + dt.timedelta(days=1)
    creditor = {"ispb": "12345678", "issuer": "0001", "number": "90000001", "accountType": "CACC"}
    first = {
        "type": "PIX",
        "date": first_day.isoformat(),
        "currency": "BRL",
        "amount": "30.00",
        "creditorAccount": creditor,
    }
    consent_id = automatic(ap2, first_payment=first)
    payment = ap2.pay(consent_id, automatic_payment("30.00", day=first_day, paymentReference="zero"))
    assert payment["status"] == "SCHD"


# --- limits (one test per 422 code) ----------------------------------------------------------------------------------


def test_transaction_limit(ap2):
    consent_id = sweeping(ap2, transaction="50.00")
    response, body = ap2.post_payment(consent_id, sweeping_payment("50.01"))
    assert response.status_code == 422
    assert error_codes(body) == ["LIMITE_VALOR_TRANSACAO_CONSENTIMENTO_EXCEDIDO"]
    assert not RecurringPayment.objects.exists()


def test_total_limit(ap2):
    consent_id = sweeping(ap2, total="100.00")
    ap2.pay(consent_id, sweeping_payment("60.00"))
    response, body = ap2.post_payment(consent_id, sweeping_payment("40.01"))
    assert response.status_code == 422
    assert error_codes(body) == ["LIMITE_VALOR_TOTAL_CONSENTIMENTO_EXCEDIDO"]
    ap2.pay(consent_id, sweeping_payment("40.00"))  # exactly the total is allowed


def test_period_value_limit(ap2):
    consent_id = sweeping(ap2, periodic={"day": {"transactionLimit": "100.00"}})
    ap2.pay(consent_id, sweeping_payment("70.00"))
    response, body = ap2.post_payment(consent_id, sweeping_payment("30.01"))
    assert response.status_code == 422
    assert error_codes(body) == ["LIMITE_PERIODO_VALOR_EXCEDIDO"]


def test_period_quantity_limit(ap2):
    consent_id = sweeping(ap2, periodic={"month": {"quantityLimit": 2}})
    ap2.pay(consent_id, sweeping_payment("1.00"))
    ap2.pay(consent_id, sweeping_payment("1.00"))
    response, body = ap2.post_payment(consent_id, sweeping_payment("1.00"))
    assert response.status_code == 422
    assert error_codes(body) == ["LIMITE_PERIODO_QUANTIDADE_EXCEDIDO"]


def test_rejected_and_cancelled_payments_do_not_count(ap2):
    consent_id = sweeping(ap2, periodic={"day": {"quantityLimit": 1}})
    payment = ap2.pay(consent_id, sweeping_payment("1.00"))
    RecurringPayment.objects.filter(recurring_payment_id=payment["recurringPaymentId"]).update(status="RJCT")
    assert ap2.pay(consent_id, sweeping_payment("1.00"))["status"] == "ACSC"


def test_maximum_variable_amount_is_the_transaction_limit(ap2):
    consent_id = automatic(ap2, maximum="200.00")
    response, body = ap2.post_payment(consent_id, automatic_payment("200.01"))
    assert response.status_code == 422
    assert error_codes(body) == ["LIMITE_VALOR_TRANSACAO_CONSENTIMENTO_EXCEDIDO"]


def test_fixed_amount_must_match(ap2):
    consent_id = automatic(ap2, fixed="100.00", maximum=None)
    response, body = ap2.post_payment(consent_id, automatic_payment("99.99"))
    assert response.status_code == 422
    assert error_codes(body) == ["VALOR_INVALIDO"]


# --- other 422 codes -------------------------------------------------------------------------------------------------


def test_revoked_consent_is_invalid(ap2):
    consent_id = sweeping(ap2)
    recurring_consent_revoke(
        recurring_consent_id=consent_id,
        code="REVOGADO_USUARIO",
        detail="",
        revoked_by="USUARIO",
        revoked_from="DETENTORA",
        actor="customer:ana",
    )
    response, body = ap2.post_payment(consent_id, sweeping_payment())
    assert response.status_code == 422
    assert error_codes(body) == ["CONSENTIMENTO_INVALIDO"]


def test_partially_accepted_consent_is_pending(ap2):
    from opusof.ofb import account_from_wire
    from recurring.services.consents import recurring_consent_authorise

    consent_id = ap2.create_consent(sweeping_consent())
    recurring_consent_authorise(
        recurring_consent_id=consent_id,
        debtor_account=account_from_wire(own(ANA_ACCOUNT)),
        actor="customer:ana",
        approvals_required=2,
    )
    response, body = ap2.post_payment(consent_id, sweeping_payment())
    assert response.status_code == 422
    assert error_codes(body) == ["CONSENTIMENTO_PENDENTE_AUTORIZACAO"]


def test_receiver_not_in_the_consent_is_divergent(ap2):
    consent_id = automatic(ap2)
    response, body = ap2.post_payment(
        consent_id, automatic_payment(document={"identification": "11222333000181", "rel": "CNPJ"})
    )
    assert response.status_code == 422
    assert error_codes(body) == ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"]


def test_automatic_only_accepts_manu(ap2):
    consent_id = automatic(ap2)
    response, body = ap2.post_payment(consent_id, automatic_payment(localInstrument="DICT", proxy="loja@example.com"))
    assert response.status_code == 422
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]


def test_automatic_needs_a_payment_reference(ap2):
    consent_id = automatic(ap2)
    data = automatic_payment()
    del data["paymentReference"]
    response, body = ap2.post_payment(consent_id, data)
    assert response.status_code == 422
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]


def test_settlement_after_consent_expiry_is_out_of_window(ap2):
    consent_id = automatic(ap2, expiration=expiry(days=2))
    response, body = ap2.post_payment(consent_id, automatic_payment(days_ahead=3))
    assert response.status_code == 422
    assert error_codes(body) == ["FORA_PRAZO_PERMITIDO"]


def test_automatic_charge_needs_two_days_notice(ap2):
    consent_id = automatic(ap2)
    response, body = ap2.post_payment(consent_id, automatic_payment(days_ahead=1))
    assert response.status_code == 422
    assert error_codes(body) == ["FORA_PRAZO_PERMITIDO"]


def test_insufficient_funds(ap2):
    consent_id = sweeping(ap2)
    SandboxAccount.objects.filter(number=ANA_CHECKING).update(behaviour="INSUFFICIENT_FUNDS")
    response, body = ap2.post_payment(consent_id, sweeping_payment())
    assert response.status_code == 422
    assert error_codes(body) == ["SALDO_INSUFICIENTE"]
    # No payment for the TPP: the record made before the bank was asked is kept, refused and hidden.
    [kept] = RecurringPayment.objects.all()
    assert (kept.status, kept.rejection_reason, kept.refused_at_creation) == ("RJCT", "SALDO_INSUFICIENTE", True)
    hidden, _ = ap2.get_payment(kept.recurring_payment_id)
    assert hidden.status_code == 404
    _, listed = ap2.list_payments(f"recurringConsentId={consent_id}")
    assert listed["data"] == []


def test_above_the_account_limit(ap2):
    consent_id = sweeping(ap2)
    SandboxAccount.objects.filter(number=ANA_CHECKING).update(behaviour="LIMIT_EXCEEDED")
    response, body = ap2.post_payment(consent_id, sweeping_payment())
    assert response.status_code == 422
    assert error_codes(body) == ["VALOR_ACIMA_LIMITE"]


def test_refused_by_holder_scenario(ap2):
    consent_id = sweeping(ap2)
    response, body = ap2.post_payment(consent_id, sweeping_payment("20422.00"))
    assert response.status_code == 422
    assert error_codes(body) == ["PAGAMENTO_RECUSADO_DETENTORA"]


def test_not_informed_scenario(ap2):
    consent_id = sweeping(ap2)
    response, body = ap2.post_payment(consent_id, sweeping_payment("10422.00"))
    assert response.status_code == 422
    assert error_codes(body) == ["NAO_INFORMADO"]


def test_missing_and_malformed_fields(ap2):
    consent_id = sweeping(ap2)
    data = sweeping_payment()
    del data["document"]
    response, body = ap2.post_payment(consent_id, data)
    assert (response.status_code, error_codes(body)) == (422, ["PARAMETRO_NAO_INFORMADO"])
    response, body = ap2.post_payment(consent_id, sweeping_payment(date="2026-13-01"))
    assert (response.status_code, error_codes(body)) == (422, ["PARAMETRO_INVALIDO"])


def test_payment_idempotency_conflict(ap2):
    consent_id = sweeping(ap2)
    token = ap2.consent_token(consent_id)
    first, body = ap2.post_payment(consent_id, sweeping_payment("2.00"), idempotency_key="k1", token=token)
    again, replay = ap2.post_payment(consent_id, sweeping_payment("3.00"), idempotency_key="k1", token=token)
    assert first.status_code == 201
    assert (again.status_code, error_codes(replay)) == (422, ["ERRO_IDEMPOTENCIA"])
    assert RecurringPayment.objects.count() == 1


def test_client_credentials_token_cannot_pay(ap2):
    consent_id = sweeping(ap2)
    response, _ = ap2.post_payment(consent_id, sweeping_payment(), token=ap2.token)
    assert response.status_code == 403


# --- retries ---------------------------------------------------------------------------------------------------------


def failed_charge(ap2, *, retry: bool = True) -> tuple[str, dict, dict]:
    consent_id = automatic(ap2, cpf=BRUNO_CPF, debtor=own(BRUNO_ACCOUNT), retry=retry)
    data = automatic_payment("100.00")
    original = ap2.pay(consent_id, data)
    rejected_by_bank(original["recurringPaymentId"])
    return consent_id, data, original


def retry_of(data: dict, original: dict, *, day: dt.date | None = None, **overrides) -> dict:
    from tests.support.payment_bodies import end_to_end_id

    day = day or dt.date.fromisoformat(data["date"])
    return {
        **data,
        "endToEndId": end_to_end_id(day),
        "date": day.isoformat(),
        "originalRecurringPaymentId": original["recurringPaymentId"],
        **overrides,
    }


def test_retries_then_retry_limit(ap2):
    consent_id, data, original = failed_charge(ap2)
    first_day = dt.date.fromisoformat(data["date"])
    for offset in range(3):  # intraday, then two extra days
        retry = ap2.pay(consent_id, retry_of(data, original, day=first_day + dt.timedelta(days=offset)))
        assert retry["originalRecurringPaymentId"] == original["recurringPaymentId"]
        rejected_by_bank(retry["recurringPaymentId"])
    response, body = ap2.post_payment(consent_id, retry_of(data, original, day=first_day + dt.timedelta(days=3)))
    assert response.status_code == 422
    assert error_codes(body) == ["LIMITE_TENTATIVAS_EXCEDIDO"]
    response, listing = ap2.list_payments(
        f"recurringConsentId={consent_id}&originalRecurringPaymentId={original['recurringPaymentId']}"
    )
    assert response.status_code == 200
    assert len(listing["data"]) == 4


def test_retry_with_other_amount_is_invalid(ap2):
    consent_id, data, original = failed_charge(ap2)
    response, body = ap2.post_payment(
        consent_id, retry_of(data, original, payment={"amount": "99.00", "currency": "BRL"})
    )
    assert response.status_code == 422
    assert error_codes(body) == ["DETALHE_TENTATIVA_INVALIDO"]


def test_extra_day_retry_needs_consent_acceptance(ap2):
    consent_id, data, original = failed_charge(ap2, retry=False)
    next_day = dt.date.fromisoformat(data["date"]) + dt.timedelta(days=1)
    response, body = ap2.post_payment(consent_id, retry_of(data, original, day=next_day))
    assert response.status_code == 422
    assert error_codes(body) == ["DETALHE_TENTATIVA_INVALIDO"]


def test_retry_after_its_window_is_out_of_time(ap2):
    consent_id, data, original = failed_charge(ap2)
    late = dt.date.fromisoformat(data["date"]) + dt.timedelta(days=8)
    response, body = ap2.post_payment(consent_id, retry_of(data, original, day=late))
    assert response.status_code == 422
    assert error_codes(body) == ["FORA_PRAZO_PERMITIDO"]


# --- cancellation ----------------------------------------------------------------------------------------------------


def test_payer_cancels_a_scheduled_charge(ap2):
    consent_id = automatic(ap2)
    payment = ap2.pay(consent_id, automatic_payment())
    response, body = ap2.cancel_payment(payment["recurringPaymentId"], document="12345678909")
    assert response.status_code == 200, body
    cancellation = body["data"]["cancellation"]
    assert body["data"]["status"] == "CANC"
    assert (cancellation["reason"], cancellation["cancelledFrom"]) == ("CANCELADO_AGENDAMENTO", "INICIADORA")


def test_cancellation_after_the_deadline(ap2):
    consent_id = automatic(ap2)
    payment = ap2.pay(consent_id, automatic_payment())
    RecurringPayment.objects.filter(recurring_payment_id=payment["recurringPaymentId"]).update(date=business_date())
    response, body = ap2.cancel_payment(payment["recurringPaymentId"], document="12345678909")
    assert response.status_code == 422
    assert error_codes(body) == ["CANCELAMENTO_FORA_PERIODO_PERMITIDO"]


def test_settled_payment_cannot_be_cancelled(ap2):
    consent_id = sweeping(ap2)
    payment = ap2.pay(consent_id, sweeping_payment())
    response, body = ap2.cancel_payment(payment["recurringPaymentId"], document="12345678909")
    assert response.status_code == 422
    assert error_codes(body) == ["PAGAMENTO_NAO_PERMITE_CANCELAMENTO"]


def test_payer_may_not_cancel_a_retry_but_the_receiver_may(ap2):
    consent_id, data, original = failed_charge(ap2)
    retry = ap2.pay(consent_id, retry_of(data, original))
    response, body = ap2.cancel_payment(retry["recurringPaymentId"], document=BRUNO_CPF)
    assert (response.status_code, error_codes(body)) == (422, ["PAGAMENTO_NAO_PERMITE_CANCELAMENTO"])
    response, body = ap2.cancel_payment(retry["recurringPaymentId"], document=MERCHANT_CNPJ, rel="CNPJ")
    assert response.status_code == 200
    assert body["data"]["status"] == "CANC"


def test_cancel_with_malformed_body(ap2):
    consent_id = automatic(ap2)
    payment = ap2.pay(consent_id, automatic_payment())
    body = {"data": {"status": "CANC"}}
    response = ap2.tpp.patch(f"{API}/pix/recurring-payments/{payment['recurringPaymentId']}", body, token=ap2.token)
    from tests.support.automatic_payments_v2 import checked

    errors = checked(response, "payment", "patch")
    assert (response.status_code, error_codes(errors)) == (422, ["PARAMETRO_NAO_INFORMADO"])


def week_reference(day: dt.date) -> str:
    iso_year, iso_week, _ = day.isocalendar()
    return f"W{iso_week}-{iso_year}"


def test_revocation_cancels_charges_after_tomorrow(ap2):
    consent_id = automatic(ap2, interval="SEMANAL")
    soon, later_day = business_date() + dt.timedelta(days=3), business_date() + dt.timedelta(days=10)
    kept = ap2.pay(consent_id, automatic_payment(day=soon, paymentReference=week_reference(soon)))
    RecurringPayment.objects.filter(recurring_payment_id=kept["recurringPaymentId"]).update(
        date=business_date() + dt.timedelta(days=1)
    )
    later = ap2.pay(consent_id, automatic_payment(day=later_day, paymentReference=week_reference(later_day)))
    ap2.patch_consent(
        consent_id,
        {
            "status": "REVOKED",
            "revocation": {
                "revokedBy": "USUARIO",
                "revokedFrom": "INICIADORA",
                "reason": {"code": "REVOGADO_USUARIO", "detail": "x"},
            },
        },
    )
    statuses = {p.recurring_payment_id: p.status for p in RecurringPayment.objects.all()}
    assert statuses == {kept["recurringPaymentId"]: "SCHD", later["recurringPaymentId"]: "CANC"}


# --- reads -----------------------------------------------------------------------------------------------------------


def test_list_filters_by_dates(ap2):
    consent_id = sweeping(ap2)
    today = business_date()
    ap2.pay(consent_id, sweeping_payment("1.00"))
    ap2.pay(consent_id, sweeping_payment("2.00"))
    response, body = ap2.list_payments(f"recurringConsentId={consent_id}&startDate={today}&endDate={today}")
    assert response.status_code == 200
    assert sorted(item["payment"]["amount"] for item in body["data"]) == ["1.00", "2.00"]
    tomorrow = today + dt.timedelta(days=1)
    _, body = ap2.list_payments(f"recurringConsentId={consent_id}&startDate={tomorrow}")
    assert body["data"] == []


def test_list_with_the_consent_token(ap2):
    consent_id = sweeping(ap2)
    ap2.pay(consent_id, sweeping_payment("1.00"))
    response, body = ap2.list_payments(f"recurringConsentId={consent_id}", token=ap2.consent_token(consent_id))
    assert response.status_code == 200
    assert len(body["data"]) == 1


def test_list_needs_the_consent_id(ap2):
    response, body = ap2.list_payments("startDate=2026-01-01")
    assert (response.status_code, error_codes(body)) == (400, ["PARAMETRO_NAO_INFORMADO"])


def test_list_rejects_malformed_dates(ap2):
    consent_id = sweeping(ap2)
    response, body = ap2.list_payments(f"recurringConsentId={consent_id}&startDate=2026-1-40")
    assert (response.status_code, error_codes(body)) == (400, ["PARAMETRO_INVALIDO"])


def test_other_clients_payment_and_consent_are_400(ap2, other_tpp):
    consent_id = sweeping(ap2)
    payment = ap2.pay(consent_id, sweeping_payment())
    other_token = access_token_mint(
        client=other_tpp.client, grant_type="client_credentials", scopes=["recurring-payments"]
    )
    response, body = ap2.get_payment(payment["recurringPaymentId"], token=other_token)
    assert response.status_code == 400
    response, body = ap2.list_payments(f"recurringConsentId={consent_id}", token=other_token)
    assert response.status_code == 400


def test_unknown_payment_is_404(ap2):
    response, _ = ap2.get_payment("does-not-exist")
    assert response.status_code == 404


def test_revocation_stands_when_the_bank_cannot_cancel_the_later_charge(ap2):
    consent_id = automatic(ap2)
    later = ap2.pay(consent_id, automatic_payment(days_ahead=5))
    SandboxAccount.objects.filter(number=ANA_CHECKING).update(behaviour="OFFLINE")
    response, body = ap2.patch_consent(
        consent_id,
        {
            "status": "REVOKED",
            "revocation": {
                "revokedBy": "INICIADORA",
                "revokedFrom": "INICIADORA",
                "reason": {"code": "REVOGADO_RECEBEDOR", "detail": "Fim do contrato."},
            },
        },
    )
    assert response.status_code == 200, body
    assert body["data"]["status"] == "REVOKED"
    _, payment = ap2.get_payment(later["recurringPaymentId"])
    assert payment["data"]["status"] == "RJCT"
    assert payment["data"]["rejectionReason"]["code"] == "CONSENTIMENTO_REVOGADO"


def test_one_charge_per_period(ap2):
    consent_id = automatic(ap2)
    ap2.pay(consent_id, automatic_payment(days_ahead=3))
    response, body = ap2.post_payment(consent_id, automatic_payment(days_ahead=3))  # same period, new endToEndId
    assert (response.status_code, error_codes(body)) == (422, ["DETALHE_PAGAMENTO_INVALIDO"])


def test_adhesion_payment_only_once_and_on_its_date(ap2):
    first_day = business_date() + dt.timedelta(days=1)
    creditor = {"ispb": "12345678", "issuer": "0001", "number": "90000001", "accountType": "CACC"}
    first = {
        "type": "PIX",
        "date": first_day.isoformat(),
        "currency": "BRL",
        "amount": "30.00",
        "creditorAccount": creditor,
    }
    consent_id = automatic(ap2, first_payment=first)
    other_day = first_day + dt.timedelta(days=1)
    response, body = ap2.post_payment(consent_id, automatic_payment("30.00", day=other_day, paymentReference="zero"))
    assert (response.status_code, error_codes(body)) == (422, ["DETALHE_PAGAMENTO_INVALIDO"])
    ap2.pay(consent_id, automatic_payment("30.00", day=first_day, paymentReference="zero"))
    response, body = ap2.post_payment(consent_id, automatic_payment("30.00", day=first_day, paymentReference="zero"))
    assert (response.status_code, error_codes(body)) == (422, ["DETALHE_PAGAMENTO_INVALIDO"])


def test_one_idempotency_key_on_two_payments_is_not_a_replay(ap2):
    consent_id = automatic(ap2, interval="SEMANAL")
    from tests.support.recurring_bodies import week_reference

    days = [business_date() + dt.timedelta(days=n) for n in (3, 10)]
    first, second = (ap2.pay(consent_id, automatic_payment(day=d, paymentReference=week_reference(d))) for d in days)
    response, body = ap2.cancel_payment(first["recurringPaymentId"], document="12345678909", idempotency_key="same")
    assert (response.status_code, body["data"]["recurringPaymentId"]) == (200, first["recurringPaymentId"])
    replay, again = ap2.cancel_payment(first["recurringPaymentId"], document="12345678909", idempotency_key="same")
    assert (replay.status_code, again["data"]) == (200, body["data"])
    other, result = ap2.cancel_payment(second["recurringPaymentId"], document="12345678909", idempotency_key="same")
    assert (other.status_code, result["data"]["recurringPaymentId"]) == (200, second["recurringPaymentId"])
    assert set(RecurringPayment.objects.values_list("status", flat=True)) == {"CANC"}


def test_zero_amount_is_invalid(ap2):
    consent_id = sweeping(ap2)
    response, body = ap2.post_payment(consent_id, sweeping_payment("0.00"))
    assert (response.status_code, error_codes(body)) == (422, ["VALOR_INVALIDO"])
