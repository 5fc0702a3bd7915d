# PaymentPollState moves from the outbox app to payments: the table is kept (state only here; outbox 0005 drops the
# outbox model from the state, payments 0004 renames the table).

import django.db.models.deletion
from django.db import migrations, models



def handed_to_bank_before(apps, schema_editor):
    """Rows written before record-before-effect were saved once the bank had answered: all but the RCVD ones (the
    worker's, never handed over) were handed to the bank when they were created."""
    model = apps.get_model("payments", "PixPayment")
    model.objects.exclude(status="RCVD").update(bank_requested_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_status_change_base"),
        ("recurring", "0004_record_before_effect"),
        ("outbox", "0004_poll_state_of_recurring_payments"),
    ]

    operations = [
        migrations.AddField(
            model_name="pixpayment",
            name="bank_requested_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name="pixpayment",
            name="cancel_request",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="pixpayment",
            name="cancel_requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="pixpayment",
            name="refused_at_creation",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="pixpayment",
            name="request_key",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.RunPython(handed_to_bank_before, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PaymentPollState",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "attempts",
                            models.PositiveIntegerField(default=0, help_text="polls since the last status change"),
                        ),
                        ("next_poll_at", models.DateTimeField(db_index=True)),
                        ("last_polled_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.CharField(blank=True, max_length=1024)),
                        ("needs_attention", models.BooleanField(db_index=True, default=False)),
                        ("flagged_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "payment",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="poll_state",
                                to="payments.pixpayment",
                            ),
                        ),
                        (
                            "recurring_payment",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="poll_state",
                                to="recurring.recurringpayment",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "payment status poll",
                        "db_table": "outbox_paymentpollstate",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("payment__isnull", False), ("recurring_payment__isnull", False), _connector="XOR"
                                ),
                                name="poll_state_of_one_payment",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
