"""Celery beat's schedule (imported by base.py): the periodic tasks of every app, their periods and expiries."""

# Every periodic task lives here (not in code), so operations can read and change the whole schedule in one place.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # /health reads the heartbeat's age: proves beat schedules and a worker consumes. A heartbeat that waited
    # longer than its period is stale news, so it expires instead of piling up behind a stopped worker.
    "worker-heartbeat": {
        "task": "opusof.tasks.worker_heartbeat",
        "schedule": 15.0,
        "options": {"expires": 15.0},
    },
    # Payments the bank left open (ACCP/ACPD/PDNG, SCHD on its date) are polled until final.
    "payments-poll-open": {"task": "payments.poll_open_payments", "schedule": 30.0, "options": {"expires": 30.0}},
    # Multi-item schedules whose own task was lost are resubmitted, or rejected after 60 minutes (payments v4).
    "payments-resubmit-stalled-batches": {
        "task": "payments.resubmit_stalled_batches",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Consents past their authorisation or consumption window become REJECTED even if nobody reads them.
    "consents-expire-due": {"task": "consents.expire_due_consents", "schedule": 30.0, "options": {"expires": 30.0}},
    # Enrollments whose AWAITING_* state timed out become REJECTED REJEITADO_TEMPO_EXPIRADO_* (enrollments v2).
    "enrollments-expire-due": {
        "task": "enrollments.expire_due_enrollments",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Retention (docs/scaling.md): each fast-growing table is pruned in batches (opusof.retention) by its own task.
    "idempotency-purge": {
        "task": "opusof.tasks.purge_idempotency_records",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Used JWS jti values past OPUSOF_JTI_TTL_SECONDS (opusof.replay) are deleted.
    "jti-purge": {"task": "opusof.tasks.purge_used_jtis", "schedule": 3600.0, "options": {"expires": 3600.0}},
    "outbox-purge": {"task": "outbox.purge_finished", "schedule": 3600.0, "options": {"expires": 3600.0}},
    "connector-calls-purge": {
        "task": "connectors.tasks.purge_connector_calls",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Recurring payments (automatic payments v2): scheduled charges on their date and open ones are polled until final.
    "recurring-poll-open": {
        "task": "recurring.poll_open_recurring_payments",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Recurring consents not authorised within their window (or approvalDueDate) become REJECTED
    # TEMPO_EXPIRADO_AUTORIZACAO; authorised ones past expirationDateTime become CONSUMED (automatic payments v2).
    "recurring-consents-expire-due": {
        "task": "recurring.expire_due_recurring_consents",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Webhooks to TPPs: the outbox dispatcher leases due events with SKIP LOCKED (safe with two beats).
    "outbox-dispatch": {"task": "outbox.dispatch_pending", "schedule": 10.0, "options": {"expires": 10.0}},
    # Scheduled payments whose date has come: claimed in SKIP LOCKED batches and settled through the connector.
    "payments-run-due": {"task": "payments.run_due_payments", "schedule": 60.0, "options": {"expires": 60.0}},
    # Initiator gateway: the participants directory, status polls of what holders left open, and the outbox of
    # notifications to the company's applications.
    "initiator-refresh-participants": {
        "task": "initiator.refresh_participants",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    "initiator-poll-open": {"task": "initiator.poll_open", "schedule": 30.0, "options": {"expires": 30.0}},
    "initiator-send-charges": {"task": "initiator.send_charges", "schedule": 60.0, "options": {"expires": 60.0}},
    "initiator-notify-pending": {"task": "initiator.notify_pending", "schedule": 10.0, "options": {"expires": 10.0}},
    "merchant-sync-plans": {"task": "merchant.sync_plans", "schedule": 30.0, "options": {"expires": 30.0}},
    "merchant-deliver-webhooks": {"task": "merchant.deliver_webhooks", "schedule": 10.0, "options": {"expires": 10.0}},
    "merchant-resolve-refunds": {"task": "merchant.resolve_refunds", "schedule": 30.0, "options": {"expires": 30.0}},
    "initiator-purge": {"task": "initiator.purge", "schedule": 86400.0, "options": {"expires": 3600.0}},
}
