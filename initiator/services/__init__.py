"""The gateway's writers, one module per idea: participants, registration, applications, consents, authorisation,
payments, tracking (status changes), sync (webhooks and polling), notifications (outbox delivery)."""
