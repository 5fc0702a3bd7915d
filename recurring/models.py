"""Recurring consents and payments (automatic payments v2); models arrive with that issue."""
