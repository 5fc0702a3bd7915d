"""Transactional outbox: status-change events written with the change, delivered to TPP webhooks afterwards."""
