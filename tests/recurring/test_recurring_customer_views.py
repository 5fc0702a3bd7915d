"""What the bank's own pages (authorisation journey and consent management area) read and do with a recurring
consent: display data, scoping by customer, customer revocation."""

import datetime as dt

import pytest

from recurring.errors import RecurringConsentNotFound
from recurring.selectors import (
    recurring_consent_display,
    recurring_consent_get_for_customer,
    recurring_consent_token_horizon,
    recurring_consents_for_customer,
)
from recurring.services.amendments import recurring_consent_revoke
from tests.support.recurring_bodies import ANA_ACCOUNT, ANA_CPF, BRUNO_CPF, automatic_consent, own, sweeping_consent


def test_sweeping_consent_display_lists_every_limit(ap2):
    consent_id = ap2.create_consent(
        sweeping_consent(
            total="1000.00",
            transaction="200.00",
            periodic={"day": {"quantityLimit": 3, "transactionLimit": "300.00"}},
        )
    )
    display = recurring_consent_display(
        recurring_consent_get_for_customer(recurring_consent_id=consent_id, customer_document=ANA_CPF)
    )
    assert display["product"] == "Transferências Inteligentes"
    assert display["limits"] == [
        ("Valor máximo por transferência", "200.00"),
        ("Valor total autorizado", "1000.00"),
        ("Valor máximo por dia", "300.00"),
        ("Quantidade máxima por dia", "3"),
    ]
    assert display["may_revoke"] is False
    assert display["expires"] is None


def test_automatic_consent_display_and_revocation_by_the_customer(ap2):
    consent_id = ap2.authorised_consent(automatic_consent(maximum="500.00", minimum="10.00"), debtor=own(ANA_ACCOUNT))
    consent = recurring_consent_get_for_customer(recurring_consent_id=consent_id, customer_document=ANA_CPF)
    display = recurring_consent_display(consent)
    assert display["product"] == "Pix Automático"
    assert display["periodicity"] == "mensal"
    assert display["creditors"] == [("Loja Exemplo Comercio Ltda", "12345678000195")]
    assert ("Valor máximo", "500.00") in display["limits"] and ("Valor mínimo", "10.00") in display["limits"]
    assert display["expires"].time() == dt.time(20, 59, 59)  # 23:59:59 UTC shown in Brasília time
    assert recurring_consent_token_horizon(consent) == consent.expires_at
    assert display["may_revoke"] is True
    assert [c.recurring_consent_id for c in recurring_consents_for_customer(customer_document=ANA_CPF)] == [consent_id]

    recurring_consent_revoke(
        recurring_consent_id=consent_id,
        code="REVOGADO_USUARIO",
        detail="Revogado pelo usuário na área de gestão de consentimentos.",
        revoked_by="USUARIO",
        revoked_from="DETENTORA",
        actor=f"customer:{ANA_CPF}",
    )
    assert ap2.get_consent(consent_id)["revocation"]["reason"]["code"] == "REVOGADO_USUARIO"


def test_another_customer_cannot_see_the_consent(ap2):
    consent_id = ap2.create_consent(sweeping_consent())
    with pytest.raises(RecurringConsentNotFound):
        recurring_consent_get_for_customer(recurring_consent_id=consent_id, customer_document=BRUNO_CPF)


def test_the_management_area_shows_an_expired_consent_as_ended_before_the_sweep_runs(ap2):
    from django.utils import timezone

    from recurring.models import RecurringConsent
    from tests.recurring.test_recurring_co_approval import logged_in

    consent_id = ap2.authorised_consent(automatic_consent(), debtor=own(ANA_ACCOUNT))
    ana = logged_in(ANA_CPF)
    assert 'id="revoke-button-1"' in ana.get("/minhas-autorizacoes/").text
    RecurringConsent.objects.filter(recurring_consent_id=consent_id).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    page = ana.get("/minhas-autorizacoes/").text

    assert 'id="revoke-button-1"' not in page, "an ended consent offers no revocation"
    assert RecurringConsent.objects.get(recurring_consent_id=consent_id).status == "CONSUMED"
