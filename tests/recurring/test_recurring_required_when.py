"""Automatic payments v2: a field a rule makes mandatory and that was not sent is PARAMETRO_NAO_INFORMADO (§4.2.1.1),
not DETALHE_PAGAMENTO_INVALIDO (a field sent that breaks a rule)."""

import pytest

from tests.support.payment_bodies import ANA_ACCOUNT, ANA_CPF, own
from tests.support.recurring_bodies import ANA_SAVINGS, RISK_SIGNALS_AUTOMATIC, sweeping_consent, sweeping_payment


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"localInstrument": "DICT"}, "proxy"),
        ({"localInstrument": "INIC", "transactionIdentification": "INIC0001"}, "proxy"),
        (
            {"localInstrument": "DICT", "proxy": ANA_CPF, "riskSignals": RISK_SIGNALS_AUTOMATIC},
            "pixKeyRegistrationDateTime",
        ),
    ],
)
def test_a_recurring_payment_without_the_field_its_instrument_needs(ap2, overrides: dict, missing: str) -> None:
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    data = sweeping_payment(creditorAccount=own(ANA_SAVINGS), **overrides)

    response, body = ap2.post_payment(consent_id, data)

    assert response.status_code == 422
    assert [error["code"] for error in body["errors"]] == ["PARAMETRO_NAO_INFORMADO"]
    assert missing in body["errors"][0]["detail"]


def test_a_recurring_payment_to_a_checking_account_without_issuer(ap2) -> None:
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    creditor = {key: value for key, value in own(ANA_SAVINGS).items() if key != "issuer"}

    response, body = ap2.post_payment(consent_id, sweeping_payment(creditorAccount=creditor))

    assert response.status_code == 422
    assert [error["code"] for error in body["errors"]] == ["PARAMETRO_NAO_INFORMADO"]
    assert "issuer" in body["errors"][0]["detail"]


def test_a_recurring_consent_whose_debtor_account_lacks_its_issuer(ap2) -> None:
    data = sweeping_consent()
    data["debtorAccount"] = {key: value for key, value in own(ANA_ACCOUNT).items() if key != "issuer"}

    response, body = ap2.post_consent(data)

    assert response.status_code == 422
    assert [error["code"] for error in body["errors"]] == ["PARAMETRO_NAO_INFORMADO"]
