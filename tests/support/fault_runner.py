"""One money-moving service run in a process of its own, for the fault-injection tests (tests/faults): the test
has it die at a fault point (payments.lifecycle.fault_point, OPUSOF_FAULT_POINT) and then counts what the bank and
opusof kept. ``python -m tests.support.fault_runner '<json job>'``; exits 0 only if the service returned."""

import json
import os
import sys
from typing import Any


def run(job: dict[str, Any]) -> None:
    from opusof.models import TppClient
    from payments.batches import payment_batch_submit
    from payments.cancellation import payment_cancel
    from payments.services import payment_create, payment_create_with_enrollment
    from recurring.services.charges import recurring_payment_create

    service = job["service"]
    if service == "payment_batch_submit":
        payment_batch_submit(batch_id=job["batch_id"])
        return
    client = TppClient.objects.get(pk=job["client"])
    if service == "payment_create":
        payment_create(client=client, consent_id=job["consent_id"], items=job["items"], request_key=job["key"])
    elif service == "payment_create_with_enrollment":
        payment_create_with_enrollment(
            client=client, enrollment_id=job["enrollment_id"], items=job["items"], request_key=job["key"]
        )
    elif service == "recurring_payment_create":
        recurring_payment_create(
            client=client, recurring_consent_id=job["consent_id"], data=job["data"], request_key=job["key"]
        )
    elif service == "payment_cancel":
        payment_cancel(
            payment_id=job["payment_id"],
            client=client,
            cancelled_from="INICIADORA",
            document=job["document"],
            rel="CPF",
            actor=f"tpp:{client.client_id}",
        )
    else:
        raise SystemExit(f"unknown service {service}")


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opusof.settings.test")
    import django

    django.setup()
    run(json.loads(sys.argv[1]))
