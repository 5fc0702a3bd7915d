"""The return of the customer from the holder's authorisation pages, by either path (initiator_redirecionamento.md):
the app posts the query string or fragment it intercepted, or the browser lands on our redirect URI.

Nothing in the answer is trusted before it is tied to one authorisation attempt of ours: ``state`` names the
consent, JARM's signature (or the hybrid id_token's signature, ``nonce``, ``c_hash`` and ``s_hash``) proves the
holder issued it for this attempt, and the code is redeemed once, with our PKCE verifier."""

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl

import jwt
from django.db import transaction
from django.utils import timezone

from initiator import crypto
from initiator.errors import AuthorisationFailed, HolderUnreachable
from initiator.fapi.client import FapiClient, OAuthRefused
from initiator.fapi.jose import HolderSignatureInvalid, verify_id_token, verify_jarm
from initiator.models import InitiatorConsent, InitiatorEnrollment
from initiator.services import enrollments
from initiator.services.consents import HOLDER_FAILURES, consent_refresh, holder_failure
from initiator.services.holder import CallLog, fapi_for
from initiator.services.registration import redirect_uri_for

SUCCESS = "success"
ERROR = "error"

# What an authorisation attempt is for: a consent (payments v4, automatic payments v2) or an enrollment's journey
# (enrollments v2): the same PAR, return paths and token custody.
Authorisable = InitiatorConsent | InitiatorEnrollment


def parse_result(raw: str) -> dict[str, str]:
    """The query string or fragment as intercepted (everything after ``?`` or ``#``)."""
    text = raw.split("#", 1)[-1] if "#" in raw else raw.split("?", 1)[-1]
    return dict(parse_qsl(text, keep_blank_values=True))


def _state_of(params: dict[str, str]) -> str:
    if "response" in params:  # JARM: the state is inside the signed response
        try:
            unverified = jwt.decode(params["response"], options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise AuthorisationFailed("invalid_request", "Resposta JARM malformada.") from exc
        return str(unverified.get("state", ""))
    return params.get("state", "")


def _verified_params(consent: Authorisable, fapi: FapiClient, params: dict[str, str]) -> dict[str, str]:
    if consent.response_mode == "jwt":
        if "response" not in params:
            raise AuthorisationFailed("invalid_request", "Resposta JARM esperada.")
        token = params["response"]
        claims = verify_jarm(token, key=fapi.holder_key(token), issuer=fapi.issuer, client_id=fapi.client_id)
        return {k: str(v) for k, v in claims.items()}
    if "error" in params:
        return params
    code, id_token = params.get("code", ""), params.get("id_token", "")
    if not code or not id_token:
        raise AuthorisationFailed("invalid_request", "code e id_token são obrigatórios no fluxo híbrido.")
    verify_id_token(
        id_token,
        key=fapi.holder_key(id_token),
        issuer=fapi.issuer,
        client_id=fapi.client_id,
        nonce=consent.nonce,
        code=code,
        state=consent.state,
    )
    return params


def _attempt_of(state: str) -> Authorisable | None:
    if not state:
        return None
    consent = InitiatorConsent.objects.select_related("participant", "application").filter(state=state).first()
    if consent is not None:
        return consent
    return InitiatorEnrollment.objects.select_related("participant", "application").filter(state=state).first()


def _log(record: Authorisable) -> CallLog:
    if isinstance(record, InitiatorEnrollment):
        return CallLog(record.participant, enrollment=record)
    return CallLog(record.participant, consent=record)


def authorisation_complete(*, params: dict[str, str], redirect_identifier: str = "") -> Authorisable:
    """Completes one authorisation attempt; raises ``AuthorisationFailed`` (with the callback URI when the
    attempt is known) for the holder's error or any check that fails."""
    state = _state_of(params)
    consent = _attempt_of(state)
    if consent is None:
        raise AuthorisationFailed("invalid_request", "state desconhecido.")
    callback = consent.callback_uri
    if redirect_identifier and redirect_identifier != consent.application.redirect_identifier:
        raise AuthorisationFailed(
            "invalid_request", "Retorno recebido pela URI de outra aplicação.", callback_uri=callback
        )
    # One attempt completes once: a replayed answer (same state, same code) is refused before the holder is called.
    with transaction.atomic():
        claimed = (
            type(consent)
            .objects.filter(pk=consent.pk, state=state, authorisation_result="")
            .update(authorisation_result="processing")
        )
    if not claimed:
        raise AuthorisationFailed("invalid_grant", "Resposta de autorização já utilizada.", callback_uri=callback)
    fapi = fapi_for(consent.participant, log=_log(consent))
    try:
        verified = _verified_params(consent, fapi, params)
        if verified.get("state", state) != consent.state:
            raise AuthorisationFailed("invalid_request", "state divergente.")
        if "error" in verified:
            raise AuthorisationFailed(verified["error"], verified.get("error_description", ""))
        tokens = fapi.exchange_code(
            code=verified.get("code", ""),
            verifier=crypto.decrypt(consent.code_verifier),
            redirect_uri=redirect_uri_for(consent.application),
        )
    except AuthorisationFailed as exc:
        _finish(consent, ERROR)
        exc.callback_uri = callback
        _refresh_quietly(consent)
        raise
    except HolderSignatureInvalid as exc:
        _finish(consent, ERROR)
        raise AuthorisationFailed("invalid_request", str(exc), callback_uri=callback) from exc
    except OAuthRefused as exc:
        _finish(consent, ERROR)
        raise AuthorisationFailed(exc.error, exc.description, callback_uri=callback) from exc
    except HOLDER_FAILURES as exc:
        _finish(consent, ERROR)
        raise AuthorisationFailed("temporarily_unavailable", str(holder_failure(exc)), callback_uri=callback) from exc
    _store_tokens(consent, tokens)
    _refresh_quietly(consent)
    consent.refresh_from_db()
    return consent


def _finish(consent: Authorisable, result: str) -> None:
    type(consent).objects.filter(pk=consent.pk).update(authorisation_result=result)


def _store_tokens(consent: Authorisable, tokens: dict[str, Any]) -> None:
    expires = timezone.now() + dt.timedelta(seconds=int(tokens.get("expires_in", 300)))
    type(consent).objects.filter(pk=consent.pk).update(
        authorisation_result=SUCCESS,
        access_token=crypto.encrypt(str(tokens.get("access_token", ""))),
        refresh_token=crypto.encrypt(str(tokens.get("refresh_token", ""))),
        access_token_expires_at=expires,
    )


def _refresh_quietly(consent: Authorisable) -> None:
    """The consent's new status from the holder; if it cannot be read now, the poller reads it later."""
    if isinstance(consent, InitiatorEnrollment):
        enrollments.refresh_quietly(consent, actor="authorisation-return")
        return
    try:
        consent_refresh(consent=consent, actor="authorisation-return")
    except HolderUnreachable:
        InitiatorConsent.objects.filter(pk=consent.pk).update(next_poll_at=timezone.now())


def consent_token(*, consent: Authorisable, fapi: FapiClient) -> str:
    """The consent's (or enrollment's) access token, refreshed with its refresh token when (nearly) expired."""
    margin = dt.timedelta(seconds=30)
    token = crypto.decrypt(consent.access_token)
    if token and consent.access_token_expires_at and consent.access_token_expires_at - margin > timezone.now():
        return token
    refresh = crypto.decrypt(consent.refresh_token)
    if not refresh:
        return token
    tokens = fapi.refresh(refresh)
    _store_tokens(consent, {**tokens, "refresh_token": tokens.get("refresh_token", refresh)})
    return str(tokens["access_token"])


def payment_token(*, consent: InitiatorConsent, fapi: FapiClient) -> str:
    """The token a payment of ``consent`` is made with: a consent authorised without redirect is paid with its
    enrollment's token (payments v4 security NonRedirectAuthorizationCode), any other with its own."""
    if consent.enrollment_id is not None:
        enrollment = InitiatorEnrollment.objects.get(pk=consent.enrollment_id)
        return consent_token(consent=enrollment, fapi=fapi)
    return consent_token(consent=consent, fapi=fapi)
