"""The recurring journey on the staff side (the customer's, in a browser, is test_recurring_browser.py): the
customer authorises once, three charges over simulated days succeed without them, a fourth over the consent's limit
is rejected, the admin sees the history, and revocation (staff action) stops the next charge."""

from django.contrib.auth import get_user_model

from recurring.models import RecurringConsent, RecurringPayment
from tests.support.automatic_payments_v2 import error_codes
from tests.support.recurring_bodies import ANA_ACCOUNT, own, pass_a_day, sweeping_consent, sweeping_payment


def test_authorise_once_charge_three_days_then_limit_then_revocation(ap2, client):
    data = sweeping_consent(total="350.00", periodic={"day": {"quantityLimit": 1}})
    consent_id = ap2.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    token = ap2.consent_token(consent_id)  # one token for the consent's life (refreshes are the authserver's)

    for _ in range(3):
        response, body = ap2.post_payment(consent_id, sweeping_payment("100.00"), token=token)
        assert response.status_code == 201, body
        assert body["data"]["status"] == "ACSC"
        response, body = ap2.post_payment(consent_id, sweeping_payment("1.00"), token=token)
        assert error_codes(body) == ["LIMITE_PERIODO_QUANTIDADE_EXCEDIDO"]  # one a day
        pass_a_day()

    response, body = ap2.post_payment(consent_id, sweeping_payment("100.00"), token=token)
    assert (response.status_code, error_codes(body)) == (422, ["LIMITE_VALOR_TOTAL_CONSENTIMENTO_EXCEDIDO"])

    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(staff)
    pk = RecurringConsent.objects.get(recurring_consent_id=consent_id).pk
    page = client.get(f"/admin/recurring/recurringconsent/{pk}/change/")
    assert page.status_code == 200
    assert b"AUTHORISED" in page.content
    response = client.post(
        "/admin/recurring/recurringconsent/", {"action": "revoke", "_selected_action": [str(pk)]}, follow=True
    )
    assert response.status_code == 200
    consent = ap2.get_consent(consent_id)
    assert consent["status"] == "REVOKED"
    assert (consent["revocation"]["revokedBy"], consent["revocation"]["revokedFrom"]) == ("DETENTORA", "DETENTORA")
    assert list(RecurringConsent.objects.get(pk=pk).history.values_list("actor", flat=True))[-1] == "staff:staff"

    response, body = ap2.post_payment(consent_id, sweeping_payment("1.00"), token=token)
    assert (response.status_code, error_codes(body)) == (422, ["CONSENTIMENTO_INVALIDO"])
    assert RecurringPayment.objects.filter(status="ACSC").count() == 3
