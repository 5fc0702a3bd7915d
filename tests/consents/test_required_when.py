"""A field a rule makes mandatory and that was not sent is PARAMETRO_NAO_INFORMADO (payments v4 §1.3.1.1 / §2.3.1.1;
automatic payments v2 §1.3.1.1 / §4.2.1.1), not the business code DETALHE_PAGAMENTO_INVALIDO, which is for a field
that was sent and breaks a rule (§1.3.2.3)."""

import pytest

from connectors.sandbox.demo import DEMO_EVP
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.payments_v4 import PaymentsV4, error_codes


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"instrument": "QRES", "proxy": DEMO_EVP}, "qrCode"),
        ({"instrument": "QRDN", "proxy": DEMO_EVP}, "qrCode"),
        ({"instrument": "DICT"}, "proxy"),
        ({"instrument": "INIC"}, "proxy"),
        ({"instrument": "QRDN"}, "proxy"),
    ],
)
def test_a_consent_without_the_field_its_instrument_needs(v4: PaymentsV4, kwargs: dict, missing: str) -> None:
    response, body = v4.post_consent(consent_data(**kwargs))

    assert response.status_code == 422
    assert error_codes(body) == ["PARAMETRO_NAO_INFORMADO"]
    assert missing in body["errors"][0]["detail"]


def test_a_payment_without_the_proxy_its_instrument_needs(v4: PaymentsV4) -> None:
    data = consent_data(instrument="DICT", proxy="loja@example.com")
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data)
    del item["proxy"]

    response, body = v4.post_payments(consent_id, [item])

    assert response.status_code == 422
    assert error_codes(body) == ["PARAMETRO_NAO_INFORMADO"]


def test_a_sent_field_that_breaks_the_rule_stays_a_business_error(v4: PaymentsV4) -> None:
    response, body = v4.post_consent(consent_data(instrument="MANU", proxy="loja@example.com"))

    assert response.status_code == 422
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]
