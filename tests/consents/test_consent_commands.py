from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from consents.models import PaymentConsent
from tests.support.payment_bodies import consent_data


def run(*args):
    out = StringIO()
    call_command("consent_authorise", *args, stdout=out)
    return out.getvalue()


def test_authorise_with_first_payable_account(v4):
    consent_id = v4.create_consent(consent_data())
    assert run(consent_id).strip() == f"{consent_id}: AUTHORISED"
    consent = PaymentConsent.objects.get(consent_id=consent_id)
    assert consent.debtor_number == "10000001"
    assert consent.history.values_list("actor", flat=True).last() == "operator:customer:12345678909"


def test_reject_and_unknown(v4):
    consent_id = v4.create_consent(consent_data())
    assert "REJECTED REJEITADO_USUARIO" in run(consent_id, "--reject")
    with pytest.raises(CommandError, match="CONSENTIMENTO_INVALIDO"):
        run(consent_id)
    with pytest.raises(CommandError, match="not found"):
        run("urn:opusof:nope")


def test_account_that_may_not_pay_is_refused(v4):
    consent_id = v4.create_consent(consent_data())
    with pytest.raises(CommandError, match="no account"):
        run(consent_id, "--account", "10000003")
