# PaymentPollState now lives in payments (payments 0003 took over its table): dropped from this app's state only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0004_poll_state_of_recurring_payments"),
        ("payments", "0003_record_before_effect_and_poll_state"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PaymentPollState")],
            database_operations=[],
        ),
    ]
