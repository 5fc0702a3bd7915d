import logging

from opusof.context import interaction_id_var


class InteractionIdFilter(logging.Filter):
    """Adds the request's x-fapi-interaction-id to every log line so a TPP's report can be traced."""

    def filter(self, record: logging.LogRecord) -> bool:
        interaction_id = interaction_id_var.get()
        if interaction_id is None:
            # django.request logs 4xx/5xx responses after the middleware chain has returned (and reset the
            # context), but passes the request along on the record.
            request = getattr(record, "request", None)
            headers = getattr(request, "headers", None)
            if headers is not None:
                interaction_id = headers.get("x-fapi-interaction-id")
        record.interaction_id = interaction_id
        return True
