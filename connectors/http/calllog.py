"""ConnectorCall rows written off the caller's thread.

A connector call often happens inside the caller's database transaction (consent authorisation locks the consent
row). Writing the log row there would lose it exactly when it matters: when the call failed and the transaction
rolls back. So rows go through a queue to one writer thread that uses its own database connection, in autocommit.
"""

import logging
import queue
import threading
from typing import Any

from django.db import connections

logger = logging.getLogger("connectors.http")

_queue: "queue.Queue[dict[str, Any]]" = queue.Queue(maxsize=10_000)
_writer: threading.Thread | None = None
_writer_lock = threading.Lock()
_IDLE_SECONDS = 2.0


def record(**fields: Any) -> None:
    """Queues one ConnectorCall row; drops it (with a log line) rather than block a payment when the queue is full."""
    _ensure_writer()
    try:
        _queue.put_nowait(fields)
    except queue.Full:
        logger.warning("connector call log queue full; row dropped", extra={"route": fields.get("route")})


def flush(timeout: float = 5.0) -> bool:
    """Waits until every queued row is written (tests, benchmarks); True when the queue drained in time."""
    done = threading.Event()
    _ensure_writer()
    _queue.put({"_flush": done})
    return done.wait(timeout)


def _ensure_writer() -> None:
    global _writer
    if _writer is not None and _writer.is_alive():
        return
    with _writer_lock:
        if _writer is None or not _writer.is_alive():
            _writer = threading.Thread(target=_run, name="connector-call-log", daemon=True)
            _writer.start()


def _run() -> None:
    from connectors.models import ConnectorCall

    while True:
        try:
            item = _queue.get(timeout=_IDLE_SECONDS)
        except queue.Empty:
            # An idle writer gives its server connection back (test databases are dropped at the end of a run).
            connections.close_all()
            continue
        batch = [item]
        # Drain what is already queued so a burst costs one INSERT.
        while len(batch) < 500:
            try:
                batch.append(_queue.get_nowait())
            except queue.Empty:
                break
        flushes = [entry.pop("_flush") for entry in batch if "_flush" in entry]
        rows = [ConnectorCall(**entry) for entry in batch if entry]
        try:
            if rows:
                ConnectorCall.objects.bulk_create(rows)
        except Exception:  # not a connector call: the log writer must outlive any failure of its own
            logger.exception("connector call log rows lost", extra={"rows": len(rows)})
            connections.close_all()  # a broken connection is reopened on the next burst
        finally:
            if flushes:
                # Whoever flushes is about to read the rows or shut down: leave no connection behind.
                connections.close_all()
            for event in flushes:
                event.set()
