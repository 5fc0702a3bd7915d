from django.db import migrations, models



def handed_to_bank_before(apps, schema_editor):
    """Rows written before record-before-effect were saved once the bank had answered: all but the RCVD ones (the
    worker's, never handed over) were handed to the bank when they were created."""
    model = apps.get_model("recurring", "RecurringPayment")
    model.objects.exclude(status="RCVD").update(bank_requested_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("recurring", "0003_recurring_payment_rejection_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="recurringpayment",
            name="bank_requested_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name="recurringpayment",
            name="cancel_request",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="recurringpayment",
            name="cancel_requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="recurringpayment",
            name="refused_at_creation",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="recurringpayment",
            name="request_key",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.RunPython(handed_to_bank_before, migrations.RunPython.noop),
    ]
