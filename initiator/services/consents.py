"""Payment consents through the gateway: created at the holder (client_credentials token, signed JWS body), then
a pushed authorisation request (signed request object, PKCE S256, nonce, state) whose authorisation URL goes back
to the application; read (from the holder when stale) and retried within the authorisation window."""

import copy
import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from initiator import crypto
from initiator.errors import ConsentNotAuthorisable, HolderUnreachable, NotFound, ParameterInvalid, ParameterMissing
from initiator.fapi.client import FapiClient, HolderAnswer, HolderAnswerInvalid, HolderUnavailable, OAuthRefused
from initiator.fapi.jose import HolderSignatureInvalid, pkce_challenge
from initiator.models import (
    Application,
    ConsentProduct,
    ConsentStatus,
    InitiatorConsent,
    InitiatorEnrollment,
    Participant,
)
from initiator.services import participants as directory
from initiator.services.holder import CallLog, client_credentials_token, fapi_for
from initiator.services.products import product_of
from initiator.services.registration import redirect_uri_for, registration_ensure
from initiator.services.tracking import consent_apply
from opusof.timeutil import rfc3339

JARM_MODE = "jwt"
# payments v4: a consent not authorised within 5 minutes of its creation is rejected by the holder.
AUTHORISATION_WINDOW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class HolderReply:
    """What the gateway answers the application: the holder's status and body, the version used."""

    status_code: int
    body: dict[str, Any]
    version: str
    source_url: str = ""
    interaction_id: str = ""


def participant_get(authorisation_server_id: str) -> Participant:
    participant = Participant.objects.filter(authorisation_server_id=authorisation_server_id, active=True).first()
    if participant is None:
        raise NotFound("Servidor de autorização não encontrado no diretório de participantes.")
    return participant


def holder_failure(exc: Exception, url: str = "") -> HolderUnreachable:
    """The one translation of a transport or verification failure into the application's 502/504."""
    if isinstance(exc, HolderUnavailable):
        return HolderUnreachable(f"Detentora indisponível: {exc}", source_url=exc.url, timeout=exc.timeout)
    if isinstance(exc, HolderAnswerInvalid):
        return HolderUnreachable(f"Resposta inválida da detentora: {exc}", source_url=exc.url)
    if isinstance(exc, HolderSignatureInvalid):
        return HolderUnreachable(f"Assinatura da detentora rejeitada: {exc}", source_url=url)
    if isinstance(exc, OAuthRefused):
        return HolderUnreachable(f"Detentora recusou o cliente: {exc}", source_url=exc.url)
    raise exc


HOLDER_FAILURES = (HolderUnavailable, HolderAnswerInvalid, HolderSignatureInvalid, OAuthRefused)


def _version(participant: Participant, requested: str | None, product: str) -> tuple[str, str]:
    served = directory.served_versions(participant, product_of(product).consents_family)
    version = directory.select_version(requested or product_of(product).major, list(served))
    if version is None:
        raise ParameterInvalid("A detentora não oferece uma versão de pagamentos suportada pelo gateway.")
    return version, served[version]


def authorisation_params(
    record: InitiatorConsent | InitiatorEnrollment, fapi: FapiClient, *, scope: str
) -> dict[str, Any]:
    """The pushed authorisation request of one attempt (a consent's, or an enrollment's journey): JARM where the
    holder offers it, else the hybrid flow; ``record.response_mode`` says which, for the return."""
    modes = fapi.metadata().get("response_modes_supported") or []
    jarm = settings.INITIATOR_PREFER_JARM and JARM_MODE in modes
    record.response_mode = JARM_MODE if jarm else "fragment"
    params: dict[str, Any] = {
        "redirect_uri": redirect_uri_for(record.application),
        "scope": scope,
        "state": record.state,
        "nonce": record.nonce,
        "code_challenge": pkce_challenge(crypto.decrypt(record.code_verifier)),
        "code_challenge_method": "S256",
    }
    if record.response_mode == JARM_MODE:
        params.update(response_type="code", response_mode=JARM_MODE)
    else:
        params["response_type"] = "code id_token"
    return params


def _authorisation_params(consent: InitiatorConsent, fapi: FapiClient) -> dict[str, Any]:
    names = product_of(consent.product)
    return authorisation_params(
        consent, fapi, scope=f"openid {names.scope} {names.consent_scope_prefix}{consent.consent_id}"
    )


def new_attempt(record: InitiatorConsent | InitiatorEnrollment) -> None:
    record.state = secrets.token_urlsafe(32)
    record.nonce = secrets.token_urlsafe(32)
    record.code_verifier = crypto.encrypt(secrets.token_urlsafe(64))
    record.authorisation_result = ""


def _validate_body(application: Application, body: Any, product: str) -> tuple[dict[str, Any], str]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ParameterMissing("Corpo deve conter o objeto data.")
    for name in product_of(product).consent_fields:
        if name not in data:
            raise ParameterMissing(f"data.{name} não informado.")
    callback = data.get("callbackApplicationUri")
    if not isinstance(callback, str) or not callback:
        raise ParameterMissing("data.callbackApplicationUri não informado.")
    if callback not in application.callback_uris:
        raise ParameterInvalid("callbackApplicationUri não registrada para a aplicação.")
    holder_data = copy.deepcopy(data)
    del holder_data["callbackApplicationUri"]
    return {"data": holder_data}, callback


def consent_create(
    *,
    application: Application,
    authorisation_server_id: str,
    body: Any,
    regulatory_version: str | None,
    product: str = ConsentProduct.PAYMENTS,
) -> tuple[InitiatorConsent | None, HolderReply]:
    """Creates the consent (payments v4, or a recurring consent of automatic payments v2) at the holder and pushes
    its authorisation request. A holder refusal (4xx) comes back as the holder said it, with no consent kept
    here."""
    holder_body, callback = _validate_body(application, body, product)
    participant = participant_get(authorisation_server_id)
    version, url = _version(participant, regulatory_version, product)
    names = product_of(product)
    log = CallLog(participant)
    try:
        registration_ensure(participant=participant)
        participant.refresh_from_db()
        fapi = fapi_for(participant, log=log)
        token = client_credentials_token(fapi, participant, names.scope)
        answer = fapi.api(
            "consent-create", "POST", url, token=token, data=holder_body, idempotency_key=str(uuid.uuid4())
        )
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc
    if answer.status_code != 201:
        return None, HolderReply(answer.status_code, answer.body, version, url, answer.interaction_id)
    data = answer.body.get("data") or {}
    consent = InitiatorConsent(
        application=application,
        participant=participant,
        consent_id=str(data.get(names.consent_id_name, "")),
        product=product,
        regulatory_version=version,
        request_body=holder_body,
        holder_data=data,
        expires_at=parse_datetime(str(data.get("expirationDateTime", ""))),
        callback_uri=callback,
    )
    new_attempt(consent)
    params = _authorisation_params(consent, fapi)
    # Kept before the PAR call: if that fails, the consent the holder created is known here (polled, retryable).
    try:
        with transaction.atomic():
            consent.save()
            log.attach(consent)
    except IntegrityError as exc:
        raise HolderUnreachable("A detentora repetiu um consentId já conhecido.", source_url=url) from exc
    try:
        consent.authorisation_url = fapi.pushed_authorisation(params)
    except HOLDER_FAILURES as exc:
        failure = holder_failure(exc)
        failure.detail = f"{failure.detail} Consentimento {consent.consent_id} criado; use authorisation-retry."
        raise failure from exc
    InitiatorConsent.objects.filter(pk=consent.pk).update(authorisation_url=consent.authorisation_url)
    reply = {
        "data": {
            "redirectUrl": consent.authorisation_url,
            names.consent_id_name: consent.consent_id,
            "consent": answer.body,
        }
    }
    return consent, HolderReply(201, reply, version, interaction_id=answer.interaction_id)


def consent_for(
    application: Application,
    consent_id: str,
    authorisation_server_id: str = "",
    product: str = ConsentProduct.PAYMENTS,
) -> InitiatorConsent:
    """The application's own consent of ``product``; another application's id is simply not found."""
    consents = InitiatorConsent.objects.select_related("participant", "application").filter(
        application=application, consent_id=consent_id, product=product
    )
    if authorisation_server_id:
        consents = consents.filter(participant__authorisation_server_id=authorisation_server_id)
    consent = consents.first()
    if consent is None:
        raise NotFound("Consentimento não encontrado.")
    return consent


def consent_url(consent: InitiatorConsent) -> str:
    served = directory.served_versions(consent.participant, product_of(consent.product).consents_family)
    if consent.regulatory_version not in served:
        raise HolderUnreachable(
            f"A detentora não lista mais a versão {consent.regulatory_version} de consentimentos.", source_url=""
        )
    return f"{served[consent.regulatory_version]}/{consent.consent_id}"


def consent_refresh(*, consent: InitiatorConsent, actor: str) -> HolderAnswer:
    """GET the consent at the holder (client_credentials) and take its status."""
    participant = consent.participant
    url = consent_url(consent)
    fapi = fapi_for(participant, log=CallLog(participant, consent=consent))
    try:
        token = client_credentials_token(fapi, participant, product_of(consent.product).scope)
        answer = fapi.api("consent-get", "GET", url, token=token)
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc
    if answer.status_code == 200:
        with transaction.atomic():
            locked = InitiatorConsent.objects.select_for_update().select_related("application").get(pk=consent.pk)
            consent_apply(locked, answer.body.get("data") or {}, actor=actor)
    return answer


def consent_read(
    *,
    application: Application,
    consent_id: str,
    authorisation_server_id: str,
    product: str = ConsentProduct.PAYMENTS,
) -> HolderReply:
    consent = consent_for(application, consent_id, authorisation_server_id, product)
    stale = timezone.now() - consent.holder_read_at > dt.timedelta(seconds=settings.INITIATOR_CONSENT_STALE_SECONDS)
    if stale:
        answer = consent_refresh(consent=consent, actor="application:read")
        if answer.status_code != 200:
            return HolderReply(answer.status_code, answer.body, consent.regulatory_version, answer.url)
        holder_body = answer.body
    else:  # the copy read within INITIATOR_CONSENT_STALE_SECONDS, in the holder's shape (ResponsePaymentConsentV4)
        holder_body = {
            "data": consent.holder_data,
            "links": {"self": consent_url(consent)},
            "meta": {"requestDateTime": rfc3339(consent.holder_read_at)},
        }
    body = {"data": {product_of(product).consent_id_name: consent.consent_id, "consent": holder_body}}
    return HolderReply(200, body, consent.regulatory_version)


def consent_retry_authorisation(
    *,
    application: Application,
    consent_id: str,
    authorisation_server_id: str,
    callback_uri: str,
    product: str = ConsentProduct.PAYMENTS,
) -> HolderReply:
    """A new authorisation URL (new state, nonce and PKCE pair) while the consent still awaits authorisation and
    its 5-minute window is open."""
    if callback_uri not in application.callback_uris:
        raise ParameterInvalid("callbackApplicationUri não registrada para a aplicação.")
    consent = consent_for(application, consent_id, authorisation_server_id, product)
    deadline = consent.expires_at or consent.created_at + AUTHORISATION_WINDOW
    if consent.status != ConsentStatus.AWAITING_AUTHORISATION or timezone.now() >= deadline:
        raise ConsentNotAuthorisable(f"Consentimento {consent.status}; janela de autorização encerrada ou usada.")
    fapi = fapi_for(consent.participant, log=CallLog(consent.participant, consent=consent))
    with transaction.atomic():
        locked = InitiatorConsent.objects.select_for_update().select_related("application").get(pk=consent.pk)
        new_attempt(locked)
        locked.callback_uri = callback_uri
        locked.save()
    try:
        url = fapi.pushed_authorisation(_authorisation_params(locked, fapi))
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc) from exc
    InitiatorConsent.objects.filter(pk=locked.pk).update(authorisation_url=url, response_mode=locked.response_mode)
    id_name = product_of(product).consent_id_name
    body = {"data": {"redirectUrl": url, id_name: consent.consent_id, "consent": {"data": consent.holder_data}}}
    return HolderReply(200, body, consent.regulatory_version)
