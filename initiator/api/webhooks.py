"""Holder webhooks (webhook-1.2.0.yml; initiator_webhooks.md): a ping with a timestamp, answered 202 at once; the
resource is read back from the holder afterwards (Celery). Unknown ids are accepted and logged, so the holder does
not retry in vain."""

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from initiator.tasks import holder_webhook
from opusof.degrade import enqueue_after_commit

logger = logging.getLogger(__name__)


def _accepted(request: HttpRequest, kind: str, resource_id: str) -> HttpResponse:
    logger.info(
        "holder webhook",
        extra={
            "kind": kind,
            "resource_id": resource_id,
            "interaction_id": request.headers.get("x-webhook-interaction-id"),
        },
    )
    if kind in ("consent", "payment", "enrollment"):
        # A lost message is covered by the poll of every open resource (initiator-poll-open).
        enqueue_after_commit(holder_webhook, kind, resource_id, recovered_by="initiator-poll-open")
    return HttpResponse(status=202)


@csrf_exempt
@require_POST
def payment_consent(request: HttpRequest, version: str, resource_id: str) -> HttpResponse:
    return _accepted(request, "consent", resource_id)


@csrf_exempt
@require_POST
def pix_payment(request: HttpRequest, version: str, resource_id: str) -> HttpResponse:
    return _accepted(request, "payment", resource_id)


@csrf_exempt
@require_POST
def enrollment(request: HttpRequest, version: str, resource_id: str) -> HttpResponse:
    return _accepted(request, "enrollment", resource_id)
