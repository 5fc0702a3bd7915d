"""BankDiscrepancy: one disagreement between opusof's payment records and the bank's books, as the reconciliation
(``payments.reconciliation``, ``manage.py reconcile_bank``) found it; shown to staff in the admin. Defined here
and imported by ``payments.models`` so the payments app owns the table."""

from django.db import models


class BankDiscrepancy(models.Model):
    class Kind(models.TextChoices):
        STATUS_MISMATCH = "STATUS_MISMATCH", "Status differs"
        AMOUNT_MISMATCH = "AMOUNT_MISMATCH", "Amount differs"
        UNKNOWN_TO_BANK = "UNKNOWN_TO_BANK", "Our record, unknown to the bank"
        ORPHAN_AT_BANK = "ORPHAN_AT_BANK", "Bank payment with no record here"

    class State(models.TextChoices):
        OPEN = "OPEN", "Open"
        RESOLVED = "RESOLVED", "Resolved"

    class Record(models.TextChoices):
        PAYMENT = "PAYMENT", "Pix payment (payments v4)"
        RECURRING_PAYMENT = "RECURRING_PAYMENT", "Recurring payment (automatic payments v2)"
        NONE = "NONE", "None here"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN, db_index=True)
    record = models.CharField(max_length=17, choices=Record.choices)
    payment_id = models.CharField(max_length=100, db_index=True, help_text="paymentId / recurringPaymentId")
    end_to_end_id = models.CharField(max_length=32, blank=True, db_index=True)
    our_status = models.CharField(max_length=4, blank=True)
    bank_status = models.CharField(max_length=4, blank=True)
    our_amount = models.DecimalField(max_digits=19, decimal_places=2, null=True, blank=True)
    bank_amount = models.DecimalField(max_digits=19, decimal_places=2, null=True, blank=True)
    bank_reference = models.CharField(max_length=100, blank=True)
    detail = models.CharField(max_length=1024, blank=True)
    found_at = models.DateTimeField()
    checked_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ["-found_at", "pk"]
        verbose_name = "bank discrepancy"
        verbose_name_plural = "bank discrepancies"
        constraints = [
            # A re-run updates the open row of a disagreement instead of adding another.
            models.UniqueConstraint(
                fields=["payment_id", "kind"], condition=models.Q(state="OPEN"), name="bank_discrepancy_open_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.payment_id}"
