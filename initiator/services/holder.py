"""The FAPI client for a participant, with every call recorded (HolderCall) and its client_credentials token
reused while valid (kept encrypted in the cache, as the consents' tokens are in the database)."""

from dataclasses import dataclass, field

from django.core.cache import cache

from initiator import crypto
from initiator.fapi.client import CallTrace, FapiClient
from initiator.models import HolderCall, InitiatorConsent, InitiatorEnrollment, InitiatorPayment, Participant

# A token is not used in its last seconds: it could expire between here and the holder.
TOKEN_MARGIN_SECONDS = 30


@dataclass
class CallLog:
    """Records each holder call as it happens; rows made before their consent existed are linked by ``attach``."""

    participant: Participant
    consent: InitiatorConsent | None = None
    payment: InitiatorPayment | None = None
    enrollment: InitiatorEnrollment | None = None
    ids: list[int] = field(default_factory=list)

    def __call__(self, trace: CallTrace) -> None:
        row = HolderCall.objects.create(
            participant=self.participant,
            consent=self.consent,
            payment=self.payment,
            enrollment=self.enrollment,
            operation=trace.operation,
            method=trace.method,
            url=trace.url[:2000],
            interaction_id=trace.interaction_id,
            idempotency_key=trace.idempotency_key,
            status_code=trace.status_code,
            latency_ms=trace.latency_ms,
            error=trace.error,
        )
        self.ids.append(row.pk)

    def attach(self, consent: InitiatorConsent) -> None:
        HolderCall.objects.filter(pk__in=self.ids, consent__isnull=True).update(consent=consent)
        self.consent = consent

    def attach_enrollment(self, enrollment: InitiatorEnrollment) -> None:
        HolderCall.objects.filter(pk__in=self.ids, enrollment__isnull=True).update(enrollment=enrollment)
        self.enrollment = enrollment


def fapi_for(participant: Participant, *, log: CallLog | None = None) -> FapiClient:
    registration = getattr(participant, "registration", None)
    return FapiClient(
        discovery_url=participant.discovery_url,
        organisation_id=participant.organisation_id,
        client_id=registration.client_id if registration is not None else "",
        on_call=log or CallLog(participant),
    )


def client_credentials_token(fapi: FapiClient, participant: Participant, scope: str = "payments") -> str:
    cache_key = f"initiator:cc-token:{participant.pk}:{fapi.client_id}:{scope}"
    cached = cache.get(cache_key)
    if isinstance(cached, str):
        token = crypto.decrypt(cached)
        if token:
            return token
    body = fapi.client_credentials(scope)
    token = str(body["access_token"])
    ttl = int(body.get("expires_in", 300)) - TOKEN_MARGIN_SECONDS
    if ttl > 0:
        cache.set(cache_key, crypto.encrypt(token), timeout=ttl)
    return token
