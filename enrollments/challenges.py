"""FIDO2 challenges (enrollments-2.1.0.yml fido-registration-options, fido-sign-options): issued fresh, single use,
short-lived."""

import datetime as dt
import secrets

from webauthn.helpers import bytes_to_base64url

from enrollments import fido
from enrollments.errors import (
    FidoChallengeInvalid,
)
from enrollments.models import (
    Enrollment,
    FidoChallenge,
)
from opusof import clock


def _challenge_value() -> str:
    """33 random bytes whose base64url has no ``-``/``_`` (rejection sampling, ~4 draws): the spec types the
    challenge ``format: byte`` (RFC 4648 base64) yet asks for "base64url sem padding"; such a value is both."""
    while True:
        value = bytes_to_base64url(secrets.token_bytes(33))
        if "-" not in value and "_" not in value:
            return value


def new_challenge(
    enrollment: Enrollment, *, purpose: str, rp_id: str, now: dt.datetime, consent_id: str = ""
) -> FidoChallenge:
    """A fresh challenge; the earlier unused ones of the same purpose (and consent) stop being valid."""
    FidoChallenge.objects.filter(
        enrollment=enrollment, purpose=purpose, consent_id=consent_id, used_at__isnull=True
    ).update(used_at=now)
    return FidoChallenge.objects.create(
        enrollment=enrollment,
        purpose=purpose,
        challenge=_challenge_value(),
        rp_id=rp_id,
        consent_id=consent_id,
        created_at=now,
        expires_at=now + dt.timedelta(milliseconds=fido.CHALLENGE_TTL_MS),
    )


def take_challenge(enrollment: Enrollment, *, purpose: str, consent_id: str = "") -> FidoChallenge:
    """Locks and consumes the enrollment's current challenge (single use, even when verification then fails)."""
    now = clock.now()
    challenge = (
        FidoChallenge.objects.select_for_update()
        .filter(enrollment=enrollment, purpose=purpose, consent_id=consent_id, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if challenge is None:
        raise FidoChallengeInvalid("Não há challenge válido: gere novas opções FIDO2 (o challenge é de uso único).")
    challenge.used_at = now
    challenge.save(update_fields=["used_at"])
    if challenge.expires_at < now:
        raise FidoChallengeInvalid("O challenge expirou; gere novas opções FIDO2.")
    return challenge
