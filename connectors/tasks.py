from celery import shared_task

from connectors.retention import connector_calls_purge
from connectors.sandbox import SandboxBank


@shared_task(name="connectors.tasks.sandbox_settle_due", ignore_result=True)
def sandbox_settle_due() -> int:
    """The sandbox bank's settlement run (Celery beat): due scheduled payments and ripe pending ones settle.
    Idempotent: locked rows are skipped and settled ones are no longer due."""
    return len(SandboxBank().settle_due())


@shared_task(name="connectors.tasks.purge_connector_calls", ignore_result=True)
def purge_connector_calls() -> int:
    """Beat: HTTP connector call records past OPUSOF_CONNECTOR_CALL_RETENTION_DAYS go."""
    return connector_calls_purge()
