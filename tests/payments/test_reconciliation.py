"""manage.py reconcile_bank against the sandbox bank: one disagreement of each kind, the exit status, --since,
--apply following the bank out of our own infrastructure rejection (history row + staff flag), the admin's list
and re-check action, and reprocess_payment taking the same FSM move."""

import contextlib
import datetime as dt
import os
import pty
import select
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from connectors.models import SandboxPayment
from connectors.sandbox import SandboxBank
from opusof.timeutil import business_date
from payments.models import BankDiscrepancy, PaymentStatusChange, PixPayment
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item

pytestmark = pytest.mark.django_db
OUR_INFRASTRUCTURE = "FALHA_INFRAESTRUTURA_DETENTORA"


def reconcile(*args: str) -> tuple[int, str]:
    """(exit status, stdout) of the command, run in-process."""
    out = StringIO()
    try:
        call_command("reconcile_bank", *args, stdout=out, stderr=StringIO())
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def paid(v4, amount: str = "100.00", *, status: str = "ACSC") -> str:
    """A payment the sandbox bank settled (ACSC on both sides; PDNG for a scenario amount); its paymentId."""
    data = consent_data(amount=amount)
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    assert response.status_code == 201, body
    assert body["data"][0]["status"] == status
    return str(body["data"][0]["paymentId"])


def rejected_by_us_while_the_bank_paid(payment_id: str, reason: str = OUR_INFRASTRUCTURE) -> None:
    """The record the issue's fault run left: ours RJCT (an answer lost, read as unavailability), the bank ACSC."""
    PixPayment.objects.filter(payment_id=payment_id).update(
        status="RJCT", rejection_reason=reason, rejection_detail="Detentora indisponível: initiate: HTTP 502"
    )


def open_discrepancies() -> set[tuple[str, str]]:
    return set(BankDiscrepancy.objects.filter(state="OPEN").values_list("kind", "payment_id"))


def test_all_in_agreement_exits_zero(v4):
    paid(v4)
    paid(v4, "12345.00", status="PDNG")  # scenario: PDNG on both sides

    status, out = reconcile()

    assert status == 0, out
    assert "checked 2 record(s), 2 bank payment(s) listed: 0 disagreement(s)" in out
    assert not BankDiscrepancy.objects.exists()


def test_one_disagreement_of_each_kind_is_printed_recorded_and_exits_non_zero(v4):
    status_mismatch = paid(v4)
    rejected_by_us_while_the_bank_paid(status_mismatch)
    amount_mismatch = paid(v4)
    PixPayment.objects.filter(payment_id=amount_mismatch).update(amount=Decimal("99.99"))
    unknown_to_bank = paid(v4, "12345.00", status="PDNG")  # PDNG: the bank's row holds no ledger entry, so it can go
    SandboxPayment.objects.filter(payment_id=unknown_to_bank).delete()
    orphan = paid(v4)
    orphan_e2e = PixPayment.objects.get(payment_id=orphan).end_to_end_id
    PixPayment.objects.filter(payment_id=orphan).delete()  # the bank paid; we kept no record
    agreeing = paid(v4)

    status, out = reconcile()

    assert status == 1
    assert f"STATUS_MISMATCH {status_mismatch}" in out and "ours RJCT, bank ACSC" in out
    assert f"AMOUNT_MISMATCH {amount_mismatch}" in out and "ours 99.99, bank 100.00" in out
    assert f"UNKNOWN_TO_BANK {unknown_to_bank}" in out and "ours PDNG, bank -" in out
    assert f"ORPHAN_AT_BANK {orphan} e2e={orphan_e2e}" in out and "ours -, bank ACSC" in out
    assert agreeing not in out
    assert "4 disagreement(s), 0 resolved, 4 open" in out
    assert open_discrepancies() == {
        ("STATUS_MISMATCH", status_mismatch),
        ("AMOUNT_MISMATCH", amount_mismatch),
        ("UNKNOWN_TO_BANK", unknown_to_bank),
        ("ORPHAN_AT_BANK", orphan),
    }
    # Nothing changed without --apply.
    assert PixPayment.objects.get(payment_id=status_mismatch).status == "RJCT"

    # A second run refreshes the open rows instead of adding more.
    assert reconcile()[0] == 1
    assert BankDiscrepancy.objects.count() == 4


def test_apply_follows_the_bank_out_of_our_infrastructure_rejection_with_history_and_flag(v4):
    payment_id = paid(v4)
    rejected_by_us_while_the_bank_paid(payment_id)

    status, out = reconcile("--apply")

    assert status == 0, out
    assert f"STATUS_MISMATCH {payment_id}" in out and "resolved: RJCT → ACSC" in out
    payment = PixPayment.objects.get(payment_id=payment_id)
    assert payment.status == "ACSC"
    assert payment.needs_attention
    assert payment.rejection_reason == ""
    move = PaymentStatusChange.objects.get(payment=payment, from_status="RJCT")
    assert (move.to_status, move.actor) == ("ACSC", "staff:reconcile_bank")
    assert v4.get_payment(payment_id)["status"] == "ACSC"
    discrepancy = BankDiscrepancy.objects.get(payment_id=payment_id)
    assert discrepancy.state == "RESOLVED" and "RJCT → ACSC" in discrepancy.resolution
    assert reconcile()[0] == 0


def test_apply_does_not_overrule_a_rejection_the_bank_itself_reported(v4):
    payment_id = paid(v4)
    rejected_by_us_while_the_bank_paid(payment_id, reason="SALDO_INSUFICIENTE")

    status, out = reconcile("--apply")

    assert status == 1
    assert "1 disagreement(s), 0 resolved, 1 open" in out
    assert PixPayment.objects.get(payment_id=payment_id).status == "RJCT"
    discrepancy = BankDiscrepancy.objects.get(payment_id=payment_id)
    assert discrepancy.state == "OPEN" and "não segue RJCT → ACSC" in discrepancy.detail


def test_an_open_discrepancy_is_resolved_once_both_sides_agree(v4):
    payment_id = paid(v4)
    PixPayment.objects.filter(payment_id=payment_id).update(amount=Decimal("1.00"))
    assert reconcile()[0] == 1
    PixPayment.objects.filter(payment_id=payment_id).update(amount=Decimal("100.00"))

    assert reconcile()[0] == 0

    discrepancy = BankDiscrepancy.objects.get(payment_id=payment_id)
    assert (discrepancy.state, discrepancy.resolution) == ("RESOLVED", "Lados concordam.")


def test_since_limits_both_sides(v4):
    old_orphan = paid(v4)
    PixPayment.objects.filter(payment_id=old_orphan).delete()
    a_day_ago = timezone.now() - dt.timedelta(days=1)
    SandboxPayment.objects.filter(payment_id=old_orphan).update(created_at=a_day_ago, settled_at=a_day_ago)
    new_orphan = paid(v4)
    PixPayment.objects.filter(payment_id=new_orphan).delete()
    since = (timezone.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    status, out = reconcile("--since", since)

    assert status == 1
    assert new_orphan in out and old_orphan not in out
    assert reconcile()[1].count("ORPHAN_AT_BANK") == 2
    with pytest.raises(CommandError, match="--since"):
        call_command("reconcile_bank", "--since", "2026-12-01T00:00:00", stdout=StringIO())


def test_progress_bar_on_a_terminal_and_silent_without(v4):
    paid(v4)
    quiet = StringIO()
    call_command("reconcile_bank", stdout=StringIO(), stderr=quiet)
    assert quiet.getvalue() == ""
    controller, terminal = pty.openpty()
    with os.fdopen(terminal, "w") as tty:
        call_command("reconcile_bank", stdout=StringIO(), stderr=tty)
    shown = ""
    # A pty hands the output over in pieces, and EIO once the terminal side is closed and drained.
    with contextlib.suppress(OSError):
        while select.select([controller], [], [], 0.2)[0]:
            shown += os.read(controller, 65536).decode()
    os.close(controller)
    assert "reconcile_bank" in shown and "1/1" in shown and "100%" in shown


def test_admin_lists_filters_searches_and_rechecks_with_apply(v4, admin_client: Any):
    fixed = paid(v4)
    rejected_by_us_while_the_bank_paid(fixed)
    orphan = paid(v4)
    orphan_e2e = PixPayment.objects.get(payment_id=orphan).end_to_end_id
    PixPayment.objects.filter(payment_id=orphan).delete()
    assert reconcile()[0] == 1
    url = "/admin/payments/bankdiscrepancy/"

    page = admin_client.get(f"{url}?kind__exact=ORPHAN_AT_BANK")
    assert page.status_code == 200
    assert orphan.encode() in page.content and fixed.encode() not in page.content
    found = admin_client.get(f"{url}?q={orphan_e2e}")
    assert orphan.encode() in found.content and fixed.encode() not in found.content

    selected = BankDiscrepancy.objects.values_list("pk", flat=True)
    response = admin_client.post(url, {"action": "recheck_and_apply", "_selected_action": list(selected)})

    assert response.status_code == 302
    assert PixPayment.objects.get(payment_id=fixed).status == "ACSC"
    assert PixPayment.objects.get(payment_id=fixed).needs_attention
    assert open_discrepancies() == {("ORPHAN_AT_BANK", orphan)}  # the bank's orphan debit stays for staff
    flagged = admin_client.get("/admin/payments/pixpayment/?needs_attention__exact=1")
    assert fixed.encode() in flagged.content


def test_reprocess_payment_follows_the_bank_out_of_our_infrastructure_rejection(v4):
    payment_id = paid(v4)
    rejected_by_us_while_the_bank_paid(payment_id)
    out = StringIO()

    call_command("reprocess_payment", payment_id, stdout=out, stderr=StringIO())

    assert "RJCT → ACSC" in out.getvalue()
    payment = PixPayment.objects.get(payment_id=payment_id)
    assert payment.status == "ACSC" and payment.needs_attention
    assert PaymentStatusChange.objects.filter(payment=payment, from_status="RJCT", to_status="ACSC").count() == 1


def test_apply_follows_a_cancellation_by_the_bank_with_its_cancellation_fields(v4):
    day = business_date() + dt.timedelta(days=3)
    data = consent_data(schedule={"single": {"date": day.isoformat()}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data, day=day)])
    payment = PixPayment.objects.get(payment_id=body["data"][0]["paymentId"])
    SandboxBank().cancel_payment(payment_id=payment.payment_id, end_to_end_id=payment.end_to_end_id)
    rejected_by_us_while_the_bank_paid(payment.payment_id)

    status, out = reconcile("--apply")

    assert status == 0, out
    payment.refresh_from_db()
    assert (payment.status, payment.cancelled_from, payment.needs_attention) == ("CANC", "DETENTORA", True)
    assert payment.cancellation_reason == "CANCELADO_PENDENCIA" and payment.cancelled_at is not None
    assert v4.get_payment(payment.payment_id)["cancellation"]["cancelledFrom"] == "DETENTORA"
