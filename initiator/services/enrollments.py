"""Account enrollments (device binding, payments without redirect) through the gateway: the Opus routes of
initiator_vinculoDeDispositivo.md over the holder's enrollments v2 (enrollments-2.1.0.yml), with client_credentials.

    POST /enrollments          → holder POST /enrollments                       (AWAITING_RISK_SIGNALS)
    POST …/risk-signals        → holder POST …/risk-signals, then PAR of the journey → redirectUrl
                                                                               (AWAITING_ACCOUNT_HOLDER_VALIDATION)
    the customer approves at the holder → our redirect URI (services.authorisation) (AWAITING_ENROLLMENT)
    POST …/fido-sign-options   → holder POST …/fido-sign-options
    PATCH /enrollments/{id}    → holder PATCH (rejection before AUTHORISED, revocation after: the holder judges)

The status here only mirrors what the holder reports (the windows, 15 minutes in Opus's prose, are the holder's to
enforce): every answer of the holder about an enrollment is read back into the mirror, so a refusal (an expired
window, a revoked enrollment) reaches the application as the holder's regulated error and its status as a webhook.
"""

import contextlib
import copy
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from initiator.errors import HolderUnreachable, NotFound, ParameterInvalid, ParameterMissing
from initiator.fapi.client import HolderAnswer
from initiator.models import Application, EnrollmentStatus, InitiatorEnrollment, Participant
from initiator.services import participants as directory
from initiator.services.consents import (
    HOLDER_FAILURES,
    HolderReply,
    authorisation_params,
    holder_failure,
    new_attempt,
    participant_get,
)
from initiator.services.holder import CallLog, client_credentials_token, fapi_for
from initiator.services.registration import registration_ensure
from initiator.services.tracking import enrollment_apply

MAJOR = "2"
# enrollments-2.1.0.yml: client_credentials scope of every operation but FIDO registration and authorise.
SCOPE = "payments"
# The journey's token (authorizeConsent and payments v4 NonRedirectAuthorizationCode security): openid payments
# nrp-consents and the dynamic enrollment:{enrollmentId}.
JOURNEY_SCOPE = "openid payments nrp-consents enrollment:"
REQUIRED_FIELDS = ("loggedUser", "permissions")


def enrollments_url(participant: Participant, requested: str | None = None) -> tuple[str, str]:
    """(version, ``…/enrollments`` endpoint) of the newest enrollments v2 the holder serves (or the one asked)."""
    served = directory.served_versions(participant, directory.ENROLLMENTS_FAMILY)
    version = directory.select_version(requested or MAJOR, list(served))
    if version is None:
        raise ParameterInvalid("A detentora não oferece vínculo de dispositivo (enrollments v2).")
    return version, served[version]


def api_root(enrollment: InitiatorEnrollment) -> str:
    """``…/open-banking/enrollments/v2``: where ``/consents/{id}/authorise`` lives beside ``/enrollments``."""
    _, url = enrollments_url(enrollment.participant, enrollment.regulatory_version)
    return url.rsplit("/enrollments", 1)[0]


def enrollment_url(enrollment: InitiatorEnrollment, suffix: str = "") -> str:
    _, url = enrollments_url(enrollment.participant, enrollment.regulatory_version)
    return f"{url}/{enrollment.enrollment_id}{suffix}"


def _documents(data: dict[str, Any]) -> tuple[str, str]:
    def identification(holder: Any) -> str:
        document = holder.get("document") if isinstance(holder, dict) else None
        return str(document.get("identification", ""))[:14] if isinstance(document, dict) else ""

    return identification(data.get("loggedUser")), identification(data.get("businessEntity"))


def _validate_body(application: Application, body: Any) -> tuple[dict[str, Any], str]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ParameterMissing("Corpo deve conter o objeto data.")
    for name in ("callbackApplicationUri", *REQUIRED_FIELDS):
        if not data.get(name):
            raise ParameterMissing(f"data.{name} não informado.")
    callback = data["callbackApplicationUri"]
    if not isinstance(callback, str) or callback not in application.callback_uris:
        raise ParameterInvalid("callbackApplicationUri não registrada para a aplicação.")
    holder_data = copy.deepcopy(data)
    del holder_data["callbackApplicationUri"]
    return {"data": holder_data}, callback


def enrollment_create(
    *,
    application: Application,
    authorisation_server_id: str,
    body: Any,
    regulatory_version: str | None,
    idempotency_key: str = "",
) -> HolderReply:
    """POST /enrollments at the holder; the enrollment is kept here only once the holder created it."""
    holder_body, callback = _validate_body(application, body)
    participant = participant_get(authorisation_server_id)
    version, url = enrollments_url(participant, regulatory_version)
    log = CallLog(participant)
    try:
        registration_ensure(participant=participant)
        participant.refresh_from_db()
        fapi = fapi_for(participant, log=log)
        token = client_credentials_token(fapi, participant, SCOPE)
        answer = fapi.api(
            "enrollment-create",
            "POST",
            url,
            token=token,
            data=holder_body,
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        )
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc
    if answer.status_code != 201:
        return HolderReply(answer.status_code, answer.body, version, url, answer.interaction_id)
    data = answer.body.get("data") or {}
    cpf, cnpj = _documents(holder_body["data"])
    enrollment = InitiatorEnrollment(
        application=application,
        participant=participant,
        enrollment_id=str(data.get("enrollmentId", "")),
        regulatory_version=version,
        request_body=holder_body,
        logged_user_document=cpf,
        business_entity_document=cnpj,
        permissions=list(holder_body["data"].get("permissions") or []),
        callback_uri=callback,
    )
    new_attempt(enrollment)
    try:
        with transaction.atomic():
            enrollment.save()
            log.attach_enrollment(enrollment)
            enrollment_apply(enrollment, data, actor="holder:create")
    except IntegrityError as exc:
        raise HolderUnreachable("A detentora repetiu um enrollmentId já conhecido.", source_url=url) from exc
    reply = {"data": {"enrollmentId": enrollment.enrollment_id, "enrollment": answer.body}}
    return HolderReply(201, reply, version, interaction_id=answer.interaction_id)


def enrollment_for(
    application: Application, enrollment_id: str, authorisation_server_id: str = ""
) -> InitiatorEnrollment:
    """The application's own enrollment; another application's id is simply not found."""
    enrollments = InitiatorEnrollment.objects.select_related("participant", "application").filter(
        application=application, enrollment_id=enrollment_id
    )
    if authorisation_server_id:
        enrollments = enrollments.filter(participant__authorisation_server_id=authorisation_server_id)
    enrollment = enrollments.first()
    if enrollment is None:
        raise NotFound("Vínculo de conta não encontrado.")
    return enrollment


def enrollment_refresh(*, enrollment: InitiatorEnrollment, actor: str) -> HolderAnswer:
    """GET the enrollment at the holder (client_credentials) and take its status."""
    participant = enrollment.participant
    url = enrollment_url(enrollment)
    fapi = fapi_for(participant, log=CallLog(participant, enrollment=enrollment))
    try:
        token = client_credentials_token(fapi, participant, SCOPE)
        answer = fapi.api("enrollment-get", "GET", url, token=token)
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc
    if answer.status_code == 200:
        with transaction.atomic():
            locked = InitiatorEnrollment.objects.select_for_update().select_related("application").get(pk=enrollment.pk)
            enrollment_apply(locked, answer.body.get("data") or {}, actor=actor)
    return answer


def refresh_quietly(enrollment: InitiatorEnrollment, *, actor: str) -> None:
    """The enrollment's status after a call that may have moved it; if it cannot be read now, the poller reads it."""
    try:
        enrollment_refresh(enrollment=enrollment, actor=actor)
    except HolderUnreachable:
        InitiatorEnrollment.objects.filter(pk=enrollment.pk).update(next_poll_at=timezone.now())


def enrollment_read(*, application: Application, enrollment_id: str, authorisation_server_id: str) -> HolderReply:
    enrollment = enrollment_for(application, enrollment_id, authorisation_server_id)
    answer = enrollment_refresh(enrollment=enrollment, actor="application:read")
    if answer.status_code != 200:
        return HolderReply(answer.status_code, answer.body, enrollment.regulatory_version, answer.url)
    body = {"data": {"enrollmentId": enrollment.enrollment_id, "enrollment": answer.body}}
    return HolderReply(200, body, enrollment.regulatory_version, interaction_id=answer.interaction_id)


def _client_call(
    enrollment: InitiatorEnrollment, operation: str, method: str, url: str, body: Any, idempotency_key: str
) -> HolderAnswer:
    participant = enrollment.participant
    fapi = fapi_for(participant, log=CallLog(participant, enrollment=enrollment))
    try:
        token = client_credentials_token(fapi, participant, SCOPE)
        return fapi.api(
            operation, method, url, token=token, data=body, idempotency_key=idempotency_key or str(uuid.uuid4())
        )
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc


def _require_data(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ParameterMissing("Corpo deve conter o objeto data.")
    return body


def enrollment_cancel(
    *, application: Application, enrollment_id: str, authorisation_server_id: str, body: Any, idempotency_key: str
) -> HolderReply:
    """PATCH at the holder: ``rejectionReason`` before AUTHORISED, ``revocationReason`` after (the holder refuses
    the wrong kind with its regulated 422)."""
    cancellation = _require_data(body)["data"].get("cancellation")
    if not isinstance(cancellation, dict) or not isinstance(cancellation.get("reason"), dict):
        raise ParameterMissing("data.cancellation.reason não informado.")
    enrollment = enrollment_for(application, enrollment_id, authorisation_server_id)
    url = enrollment_url(enrollment)
    answer = _client_call(enrollment, "enrollment-cancel", "PATCH", url, body, idempotency_key)
    refresh_quietly(enrollment, actor="application:cancel")
    return HolderReply(answer.status_code, answer.body, enrollment.regulatory_version, url, answer.interaction_id)


def enrollment_risk_signals(
    *, application: Application, enrollment_id: str, authorisation_server_id: str, body: Any, idempotency_key: str
) -> HolderReply:
    """Risk signals to the holder; once accepted, the journey's pushed authorisation request (the customer
    validates the account at the holder) and its URL for the application (Opus answers 201 ``redirectUrl``)."""
    enrollment = enrollment_for(application, enrollment_id, authorisation_server_id)
    url = enrollment_url(enrollment, "/risk-signals")
    _require_data(body)
    if enrollment.status == EnrollmentStatus.AWAITING_ACCOUNT_HOLDER_VALIDATION and not enrollment.authorisation_url:
        # The holder took the signals but the PAR that followed failed (502 to the application): the repeat only
        # pushes a new authorisation request, if the holder still waits for the customer.
        enrollment_refresh(enrollment=enrollment, actor="holder:risk-signals")
        enrollment.refresh_from_db()
    if enrollment.status != EnrollmentStatus.AWAITING_ACCOUNT_HOLDER_VALIDATION or enrollment.authorisation_url:
        answer = _client_call(enrollment, "risk-signals", "POST", url, body, idempotency_key)
        refresh_quietly(enrollment, actor="holder:risk-signals")
        if answer.status_code != 204:
            version = enrollment.regulatory_version
            return HolderReply(answer.status_code, answer.body, version, url, answer.interaction_id)
    fapi = fapi_for(enrollment.participant, log=CallLog(enrollment.participant, enrollment=enrollment))
    with transaction.atomic():
        locked = InitiatorEnrollment.objects.select_for_update().select_related("application").get(pk=enrollment.pk)
        new_attempt(locked)
        locked.save(update_fields=["state", "nonce", "code_verifier", "authorisation_result"])
    try:
        params = authorisation_params(locked, fapi, scope=f"{JOURNEY_SCOPE}{locked.enrollment_id}")
        redirect = fapi.pushed_authorisation(params)
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc) from exc
    InitiatorEnrollment.objects.filter(pk=locked.pk).update(
        authorisation_url=redirect, response_mode=locked.response_mode
    )
    return HolderReply(201, {"data": {"redirectUrl": redirect}}, enrollment.regulatory_version)


def fido_sign_options(
    *, application: Application, enrollment_id: str, authorisation_server_id: str, body: Any, idempotency_key: str
) -> HolderReply:
    """The assertion options for one consent (``consentId``) or recurring consent (``recurringConsentId``)."""
    data = _require_data(body)["data"]
    if not data.get("consentId") and not data.get("recurringConsentId"):
        raise ParameterMissing("data.consentId ou data.recurringConsentId não informado.")
    enrollment = enrollment_for(application, enrollment_id, authorisation_server_id)
    url = enrollment_url(enrollment, "/fido-sign-options")
    answer = _client_call(enrollment, "fido-sign-options", "POST", url, body, idempotency_key)
    if answer.status_code >= 400:
        with contextlib.suppress(HolderUnreachable):
            refresh_quietly(enrollment, actor="holder:fido-sign-options")
    return HolderReply(answer.status_code, answer.body, enrollment.regulatory_version, url, answer.interaction_id)
