from django.db import migrations, models


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
    ]
