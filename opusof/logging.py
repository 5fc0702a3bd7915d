import logging

from opusof.context import interaction_id_var


class InteractionIdFilter(logging.Filter):
    """Adds the request's x-fapi-interaction-id to every log line so a TPP's report can be traced."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.interaction_id = interaction_id_var.get()
        return True
