"""POST/GET /consents: every response validated against payments-4.0.0.yml."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.sandbox.demo import DEMO_EVP
from consents.models import ConsentStatus, PaymentConsent
from consents.services import consent_authorise
from opusof.brcode import build_dynamic, build_static
from opusof.ofb import account_from_wire
from opusof.timeutil import business_date
from tests.support.payment_bodies import ANA_ACCOUNT, ANA_SALARY, MERCHANT_ACCOUNT, consent_data, own
from tests.support.payments_v4 import error_codes

STATIC_QR = build_static(DEMO_EVP, Decimal("100.00"), "LOJA EXEMPLO", "SAO PAULO", txid="DEMOSTATIC0001")
DYNAMIC_QR = build_dynamic("pix.example.com/qr/v2/abc", "LOJA EXEMPLO", "SAO PAULO")


def tomorrow() -> dt.date:
    return business_date() + dt.timedelta(days=1)


def test_create_immediate_consent(v4):
    response, body = v4.post_consent(consent_data())
    assert response.status_code == 201
    data = body["data"]
    assert data["status"] == "AWAITING_AUTHORISATION"
    created = dt.datetime.fromisoformat(data["creationDateTime"])
    assert dt.datetime.fromisoformat(data["expirationDateTime"]) - created == dt.timedelta(minutes=5)
    assert data["payment"]["amount"] == "100.00"
    assert body["links"]["self"].endswith(f"/open-banking/payments/v4/consents/{data['consentId']}")
    assert response["x-fapi-interaction-id"]
    consent = PaymentConsent.objects.get(consent_id=data["consentId"])
    assert consent.client == v4.tpp.client
    assert [(h.from_status, h.to_status) for h in consent.history.all()] == [("", "AWAITING_AUTHORISATION")]


def test_get_consent_echoes_request(v4):
    sent = consent_data(debtor=own(ANA_ACCOUNT), business="11222333000181")
    consent_id = v4.create_consent(sent)
    data = v4.get_consent(consent_id)
    assert data["loggedUser"] == sent["loggedUser"]
    assert data["businessEntity"] == sent["businessEntity"]
    assert data["creditor"] == sent["creditor"]
    assert data["payment"] == sent["payment"]
    assert data["debtorAccount"] == sent["debtorAccount"]


def test_consent_of_another_client_is_not_found(v4, other_tpp):
    consent_id = v4.create_consent(consent_data())
    from opusof.tokens import access_token_mint

    token = access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=["payments"])
    response = other_tpp.get(f"/open-banking/payments/v4/consents/{consent_id}", token=token)
    body = v4.checked(response, "consent", "get")
    assert response.status_code == 404
    assert body["errors"][0]["code"] == "NAO_ENCONTRADO"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d.pop("creditor"), "PARAMETRO_NAO_INFORMADO"),
        (lambda d: d["payment"].pop("amount"), "PARAMETRO_NAO_INFORMADO"),
        (lambda d: d["payment"]["details"]["creditorAccount"].pop("issuer"), "PARAMETRO_NAO_INFORMADO"),
        (lambda d: d["payment"].pop("date"), "PARAMETRO_NAO_INFORMADO"),
        (lambda d: d["payment"].update(amount="10.5"), "PARAMETRO_INVALIDO"),
        (lambda d: d["payment"].update(currency="USD"), "PARAMETRO_INVALIDO"),
        (lambda d: d["payment"].update(date="2026-02-30"), "PARAMETRO_INVALIDO"),
        (lambda d: d["payment"]["details"]["creditorAccount"].update(ispb="1234"), "PARAMETRO_INVALIDO"),
        (lambda d: d["payment"]["details"]["creditorAccount"].update(accountType="SLRY"), "PARAMETRO_INVALIDO"),
        (lambda d: d["payment"]["details"].update(localInstrument="TED"), "PARAMETRO_INVALIDO"),
        (lambda d: d["loggedUser"]["document"].update(identification="12345678900"), "PARAMETRO_INVALIDO"),
        (lambda d: d["creditor"].update(cpfCnpj="12345678000100"), "PARAMETRO_INVALIDO"),
        (lambda d: d["creditor"].update(personType="PESSOA_NATURAL"), "PARAMETRO_INVALIDO"),
        (lambda d: d["payment"].update(schedule={"single": {"date": tomorrow().isoformat()}}), "PARAMETRO_INVALIDO"),
        (lambda d: d["payment"].update(amount="0.00"), "DETALHE_PAGAMENTO_INVALIDO"),
        (lambda d: d["payment"].update(amount="1000000000.00"), "DETALHE_PAGAMENTO_INVALIDO"),
        (lambda d: d["payment"]["details"].update(proxy="loja@example.com"), "DETALHE_PAGAMENTO_INVALIDO"),
        (lambda d: d["payment"].update(date=tomorrow().isoformat()), "DATA_PAGAMENTO_INVALIDA"),
        (lambda d: d["payment"].update(amount="10422.15"), "NAO_INFORMADO"),
    ],
)
def test_invalid_consent_is_422_and_writes_nothing(v4, mutate, code):
    data = consent_data()
    mutate(data)
    response, body = v4.post_consent(data)
    assert response.status_code == 422
    assert error_codes(body) == [code]
    assert body["meta"]["requestDateTime"]
    assert not PaymentConsent.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"instrument": "DICT"}, "PARAMETRO_NAO_INFORMADO"),
        ({"instrument": "DICT", "proxy": "loja@example.com", "qr_code": STATIC_QR}, "DETALHE_PAGAMENTO_INVALIDO"),
        ({"instrument": "INIC", "proxy": "loja@example.com", "qr_code": STATIC_QR}, "DETALHE_PAGAMENTO_INVALIDO"),
        ({"instrument": "QRES", "proxy": DEMO_EVP}, "PARAMETRO_NAO_INFORMADO"),
        (
            {"instrument": "QRES", "proxy": DEMO_EVP, "qr_code": STATIC_QR, "amount": "99.00"},
            "DETALHE_PAGAMENTO_INVALIDO",
        ),
        ({"instrument": "QRES", "proxy": "loja@example.com", "qr_code": STATIC_QR}, "DETALHE_PAGAMENTO_INVALIDO"),
        ({"instrument": "QRES", "proxy": DEMO_EVP, "qr_code": STATIC_QR[:-1] + "0"}, "DETALHE_PAGAMENTO_INVALIDO"),
        ({"instrument": "QRES", "proxy": DEMO_EVP, "qr_code": DYNAMIC_QR}, "DETALHE_PAGAMENTO_INVALIDO"),
        ({"instrument": "QRDN", "proxy": DEMO_EVP, "qr_code": STATIC_QR}, "DETALHE_PAGAMENTO_INVALIDO"),
    ],
)
def test_local_instrument_rules(v4, kwargs, code):
    response, body = v4.post_consent(consent_data(**kwargs))
    assert response.status_code == 422
    assert error_codes(body) == [code]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"instrument": "MANU"},
        {"instrument": "DICT", "proxy": "loja@example.com"},
        {"instrument": "INIC", "proxy": "loja@example.com"},
        {"instrument": "QRES", "proxy": DEMO_EVP, "qr_code": STATIC_QR},
        {"instrument": "QRDN", "proxy": "loja@example.com", "qr_code": DYNAMIC_QR, "amount": "250.00"},
    ],
)
def test_each_local_instrument_accepted(v4, kwargs):
    response, body = v4.post_consent(consent_data(**kwargs))
    assert response.status_code == 201, body
    assert body["data"]["payment"]["details"]["localInstrument"] == kwargs["instrument"]


def _schedules():
    start = business_date() + dt.timedelta(days=1)
    return {
        "single": ({"single": {"date": start.isoformat()}}, 1),
        "daily": ({"daily": {"startDate": start.isoformat(), "quantity": 5}}, 5),
        "weekly": ({"weekly": {"dayOfWeek": "SEXTA_FEIRA", "startDate": start.isoformat(), "quantity": 4}}, 4),
        # 23 occurrences end within D+730 whatever today is (24 of day 31 from December ran past it).
        "monthly": ({"monthly": {"dayOfMonth": 31, "startDate": start.isoformat(), "quantity": 23}}, 23),
        "custom": (
            {
                "custom": {
                    "dates": [(start + dt.timedelta(days=i * 3)).isoformat() for i in range(60)],
                    "additionalInformation": "Parcelas",
                }
            },
            60,
        ),
    }


@pytest.mark.parametrize("kind", ["single", "daily", "weekly", "monthly", "custom"])
def test_every_schedule_type(v4, kind):
    schedule, count = _schedules()[kind]
    response, body = v4.post_consent(consent_data(schedule=schedule))
    assert response.status_code == 201, body
    consent = PaymentConsent.objects.get(consent_id=body["data"]["consentId"])
    assert len(consent.scheduled_dates) == count
    assert body["data"]["payment"]["schedule"] == schedule


@pytest.mark.parametrize(
    ("schedule", "code"),
    [
        ({"single": {"date": business_date().isoformat()}}, "DATA_PAGAMENTO_INVALIDA"),
        ({"single": {"date": (business_date() + dt.timedelta(days=731)).isoformat()}}, "DATA_PAGAMENTO_INVALIDA"),
        ({"daily": {"startDate": business_date().isoformat(), "quantity": 3}}, "DATA_PAGAMENTO_INVALIDA"),
        ({"daily": {"startDate": "2030-01-01", "quantity": 61}}, "PARAMETRO_INVALIDO"),
        ({"daily": {"startDate": "2030-01-01", "quantity": 1}}, "PARAMETRO_INVALIDO"),
        ({"monthly": {"dayOfMonth": 1, "startDate": "2030-01-01", "quantity": 25}}, "PARAMETRO_INVALIDO"),
        ({"monthly": {"dayOfMonth": 32, "startDate": "2030-01-01", "quantity": 3}}, "PARAMETRO_INVALIDO"),
        ({"weekly": {"dayOfWeek": "FERIADO", "startDate": "2030-01-01", "quantity": 3}}, "PARAMETRO_INVALIDO"),
        ({"custom": {"dates": ["2027-01-05", "2027-01-05"], "additionalInformation": "x"}}, "PARAMETRO_INVALIDO"),
        ({"custom": {"dates": ["2027-01-05", "2027-02-05"]}}, "PARAMETRO_NAO_INFORMADO"),
        (
            {"daily": {"startDate": (business_date() + dt.timedelta(days=700)).isoformat(), "quantity": 40}},
            "PARAMETRO_INVALIDO",
        ),
    ],
)
def test_schedule_bounds(v4, schedule, code):
    response, body = v4.post_consent(consent_data(schedule=schedule))
    assert response.status_code == 422
    assert error_codes(body) == [code]


def test_two_year_bound_detail(v4):
    start = business_date() + dt.timedelta(days=700)
    _, body = v4.post_consent(consent_data(schedule={"daily": {"startDate": start.isoformat(), "quantity": 40}}))
    assert body["errors"][0]["detail"] == "Quantidade permitida de pagamentos excedida"


@pytest.mark.parametrize("instrument", ["QRDN", "INIC"])
def test_recurring_schedule_refuses_other_instruments(v4, instrument):
    schedule = {"daily": {"startDate": (business_date() + dt.timedelta(days=2)).isoformat(), "quantity": 3}}
    qr_code = DYNAMIC_QR if instrument == "QRDN" else None
    data = consent_data(instrument=instrument, schedule=schedule, proxy="loja@example.com", qr_code=qr_code)
    response, body = v4.post_consent(data)
    assert response.status_code == 422
    assert error_codes(body) == ["FORMA_PAGAMENTO_INVALIDA"]
    assert f"localInstrument - {instrument}" in body["errors"][0]["detail"]


def test_consent_expires_for_authorisation_after_five_minutes(v4):
    consent_id = v4.create_consent(consent_data())
    PaymentConsent.objects.filter(consent_id=consent_id).update(
        created_at=timezone.now() - dt.timedelta(minutes=6), expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    data = v4.get_consent(consent_id)
    assert data["status"] == "REJECTED"
    assert data["rejectionReason"]["code"] == "TEMPO_EXPIRADO_AUTORIZACAO"
    assert (
        PaymentConsent.objects.get(consent_id=consent_id).history.values_list("actor", flat=True).last()
        == "system:expiry"
    )


def test_authorised_consent_expires_for_consumption_after_sixty_minutes(v4):
    consent_id = v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    data = v4.get_consent(consent_id)
    assert data["status"] == "AUTHORISED"
    assert data["debtorAccount"]["number"] == ANA_ACCOUNT["number"]
    expiry = dt.datetime.fromisoformat(data["expirationDateTime"])
    assert expiry - dt.datetime.fromisoformat(data["statusUpdateDateTime"]) == dt.timedelta(minutes=60)
    PaymentConsent.objects.filter(consent_id=consent_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    data = v4.get_consent(consent_id)
    assert (data["status"], data["rejectionReason"]["code"]) == ("REJECTED", "TEMPO_EXPIRADO_CONSUMO")


@pytest.mark.parametrize(
    ("debtor", "amount", "reason"),
    [
        (ANA_SALARY, "100.00", "CONTA_NAO_PERMITE_PAGAMENTO"),
        ({**MERCHANT_ACCOUNT}, "100.00", "CONTA_NAO_PERMITE_PAGAMENTO"),
        (ANA_ACCOUNT, "5000000.00", "VALOR_ACIMA_LIMITE"),
    ],
)
def test_authorisation_rejections(v4, debtor, amount, reason):
    debtor = own(debtor) if debtor.get("ispb") is None else debtor
    consent_id = v4.authorised_consent(consent_data(amount=amount), debtor=debtor)
    data = v4.get_consent(consent_id)
    assert data["status"] == "REJECTED"
    assert data["rejectionReason"]["code"] == reason


def test_authorisation_insufficient_funds_only_for_immediate(v4):
    bruno = {"ispb": None, "issuer": "0001", "number": "20000001", "accountType": "CACC"}
    immediate = v4.authorised_consent(consent_data(amount="500.00", logged_cpf="98765432100"), debtor=own(bruno))
    assert v4.get_consent(immediate)["rejectionReason"]["code"] == "SALDO_INSUFICIENTE"
    scheduled = v4.authorised_consent(
        consent_data(amount="500.00", logged_cpf="98765432100", schedule={"single": {"date": tomorrow().isoformat()}}),
        debtor=own(bruno),
    )
    assert v4.get_consent(scheduled)["status"] == "AUTHORISED"


def test_rejection_priority_prefers_account_over_balance(v4):
    # Ana's salary account may not pay and holds less than the amount: CONTA_NAO_PERMITE_PAGAMENTO (priority 1)
    # beats SALDO_INSUFICIENTE (priority 6) in the §5.2 table.
    consent_id = v4.authorised_consent(consent_data(amount="4000.00"), debtor=own(ANA_SALARY))
    assert v4.get_consent(consent_id)["rejectionReason"]["code"] == "CONTA_NAO_PERMITE_PAGAMENTO"


def test_multi_approval_goes_through_partially_accepted(v4):
    from consents.services import consent_approve

    consent_id = v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT), approvals=3)
    data = v4.get_consent(consent_id)
    assert data["status"] == "PARTIALLY_ACCEPTED"
    consent_approve(consent_id=consent_id, actor="customer:second")
    assert v4.get_consent(consent_id)["status"] == "PARTIALLY_ACCEPTED"
    consent_approve(consent_id=consent_id, actor="customer:third")
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"
    assert [h.to_status for h in PaymentConsent.objects.get(consent_id=consent_id).history.all()] == [
        "AWAITING_AUTHORISATION",
        "PARTIALLY_ACCEPTED",
        "PARTIALLY_ACCEPTED",
        "AUTHORISED",
    ]


def test_partially_accepted_expires_at_end_of_day(v4):
    consent_id = v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT), approvals=2)
    expiry = dt.datetime.fromisoformat(v4.get_consent(consent_id)["expirationDateTime"])
    assert expiry.astimezone(dt.timezone(dt.timedelta(hours=-3))).time() == dt.time(23, 59, 59)
    PaymentConsent.objects.filter(consent_id=consent_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    data = v4.get_consent(consent_id)
    assert (data["status"], data["rejectionReason"]["code"]) == ("REJECTED", "TEMPO_EXPIRADO_AUTORIZACAO")


def test_idempotent_replay_returns_same_body_resigned(v4):
    key = "consent-key-1"
    first, first_body = v4.post_consent(consent_data(), idempotency_key=key)
    again, again_body = v4.post_consent(consent_data(), idempotency_key=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again_body["data"] == first_body["data"]
    assert again_body["jti"] != first_body["jti"]
    assert PaymentConsent.objects.count() == 1


def test_idempotency_key_with_other_payload(v4):
    v4.post_consent(consent_data(), idempotency_key="consent-key-2")
    response, body = v4.post_consent(consent_data(amount="101.00"), idempotency_key="consent-key-2")
    assert response.status_code == 422
    assert error_codes(body) == ["ERRO_IDEMPOTENCIA"]
    assert PaymentConsent.objects.count() == 1


def test_idempotency_key_required(v4):
    response, body = v4.post_consent(consent_data(), idempotency_key=None)
    assert response.status_code == 422
    assert error_codes(body) == ["PARAMETRO_NAO_INFORMADO"]


def test_status_after_authorisation_is_recorded(v4):
    consent_id = v4.create_consent(consent_data())
    consent_authorise(consent_id=consent_id, debtor_account=account_from_wire(own(ANA_ACCOUNT)), actor="customer:ana")
    consent = PaymentConsent.objects.get(consent_id=consent_id)
    assert consent.status == ConsentStatus.AUTHORISED
    assert consent.history.values_list("actor", flat=True).last() == "customer:ana"


def test_dynamic_qr_of_another_amount_is_rejected_at_authorisation(v4, demo_bank):
    dynamic = demo_bank["qr_codes"]["dynamic"]
    data = consent_data(instrument="QRDN", proxy=dynamic["key"], qr_code=dynamic["payload"], amount="99.00")
    # The BR Code of a dynamic charge carries no amount; the bank learns it from the charge's payload (§5.1.9).
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    data = v4.get_consent(consent_id)
    assert (data["status"], data["rejectionReason"]["code"]) == ("REJECTED", "VALOR_INVALIDO")
