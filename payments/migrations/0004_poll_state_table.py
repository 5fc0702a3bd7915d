from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_record_before_effect_and_poll_state"),
        ("outbox", "0005_poll_state_moved_to_payments"),
    ]

    operations = [
        migrations.AlterModelTable(name="paymentpollstate", table=None),
    ]
