"""Reconciliation through the HTTP connector and the reference bank: the listing extension (/opusof/payment-listing)
page by page, and reconcile_bank finding and resolving disagreements of payments v4 and automatic payments v2."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from connectors.http import listing
from connectors.models import SandboxPayment
from connectors.registry import bank_payment_lister
from payments.models import BankDiscrepancy, PixPayment
from recurring.models import RecurringPayment
from tests.connectors.http.test_http_recurring import ap2  # noqa: F401  (fixture)
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.recurring_bodies import sweeping_consent, sweeping_payment

pytestmark = pytest.mark.django_db(transaction=True)
OUR_INFRASTRUCTURE = "FALHA_INFRAESTRUTURA_DETENTORA"


def paid(v4) -> str:
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data)])
    assert body["data"][0]["status"] == "ACSC", body
    return str(body["data"][0]["paymentId"])


def reconcile(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("reconcile_bank", *args, stdout=out, stderr=StringIO())
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_the_listing_extension_pages_through_every_bank_payment(v4, http_connectors, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    ids = {paid(v4) for _ in range(5)}

    records = list(bank_payment_lister().list_bank_payments())

    assert {record.payment_id for record in records} == ids
    assert {str(record.status) for record in records} == {"ACSC"}
    bank_side = SandboxPayment.objects.get(payment_id=next(iter(ids)))
    [record] = [record for record in records if record.payment_id == bank_side.payment_id]
    assert (record.end_to_end_id, record.amount, record.idempotency_key) == (
        bank_side.end_to_end_id,
        bank_side.amount,
        bank_side.payment_id,
    )
    # Three pages (2 + 2 + 1), each a signed request the bank verified, cursors chained.
    pages = http_connectors.received("list")
    cursors = [page["body"].get("cursor") for page in pages]
    assert len(pages) == 3 and all(page["body"]["pageSize"] == 2 for page in pages)
    assert cursors[0] is None and cursors[1] and cursors[2] and cursors[1] != cursors[2]


def test_reconcile_through_the_reference_bank_finds_both_directions_and_applies(
    v4,
    ap2,  # noqa: F811
    http_connectors,
):
    rejected = paid(v4)
    PixPayment.objects.filter(payment_id=rejected).update(status="RJCT", rejection_reason=OUR_INFRASTRUCTURE)
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    charge = ap2.pay(consent_id, sweeping_payment("10.00"))["recurringPaymentId"]
    RecurringPayment.objects.filter(recurring_payment_id=charge).update(
        status="RJCT", rejection_reason=OUR_INFRASTRUCTURE
    )
    orphan = paid(v4)
    PixPayment.objects.filter(payment_id=orphan).delete()

    status, out = reconcile("--apply")

    assert status == 1  # the orphan debit stays open for staff
    assert f"STATUS_MISMATCH {rejected}" in out and f"STATUS_MISMATCH {charge}" in out
    assert out.count("resolved: RJCT → ACSC") == 2
    assert f"ORPHAN_AT_BANK {orphan}" in out
    assert "3 disagreement(s), 2 resolved, 1 open" in out
    payment = PixPayment.objects.get(payment_id=rejected)
    recurring = RecurringPayment.objects.get(recurring_payment_id=charge)
    assert (payment.status, payment.needs_attention) == ("ACSC", True)
    assert (recurring.status, recurring.needs_attention) == ("ACSC", True)
    assert recurring.history.filter(from_status="RJCT", to_status="ACSC", actor="staff:reconcile_bank").count() == 1
    assert set(BankDiscrepancy.objects.filter(state="OPEN").values_list("kind", "payment_id")) == {
        ("ORPHAN_AT_BANK", orphan)
    }
    assert len(http_connectors.received("list")) == 1
    # Asked again before applying: the status route, once per payment followed.
    assert {entry["body"]["paymentId"][0]["value"] for entry in http_connectors.received("status")} == {
        rejected,
        charge,
    }


def test_bank_list_unavailable_exits_two(http_connectors, faults):
    faults(down=True, routes=["list"])

    with pytest.raises(CommandError, match="unavailable") as failed:
        call_command("reconcile_bank", stdout=StringIO(), stderr=StringIO())

    assert failed.value.returncode == 2
    assert not BankDiscrepancy.objects.exists()
