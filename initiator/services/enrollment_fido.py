"""The FIDO2 proxies of payments without redirect (initiator_vinculoDeDispositivo.md "FIDO2 Registration" and
"Consent authorization via FIDO2"), made with the enrollment journey's token (enrollments-2.1.0.yml security
``openid payments enrollment:{id}`` and, for authorise, ``nrp-consents``).

The application's device holds the FIDO2 credential: the gateway forwards the holder's options to the application
and the device's answer (public key in the attestation, signature in the assertion) to the holder; the private key
never leaves the device, and nothing here can sign for it."""

import contextlib
import uuid
from typing import Any

from django.db import transaction

from initiator.errors import HolderUnreachable, ParameterInvalid, ParameterMissing
from initiator.fapi.client import HolderAnswer
from initiator.models import Application, ConsentProduct, InitiatorConsent, InitiatorEnrollment
from initiator.services.authorisation import consent_token
from initiator.services.consents import HOLDER_FAILURES, HolderReply, consent_for, consent_refresh, holder_failure
from initiator.services.enrollments import api_root, enrollment_for, enrollment_url, refresh_quietly
from initiator.services.holder import CallLog, fapi_for

# Where each product's consents are authorised at the holder (enrollments v2 /consents/{consentId}/authorise; the
# recurring route follows the same shape for Pix Automático consents).
AUTHORISE_PATHS = {ConsentProduct.PAYMENTS: "consents", ConsentProduct.AUTOMATIC_PAYMENTS: "recurring-consents"}


def _journey_call(
    enrollment: InitiatorEnrollment,
    operation: str,
    url: str,
    body: dict[str, Any],
    *,
    idempotency_key: str,
    consent: InitiatorConsent | None = None,
    customer_headers: dict[str, str] | None = None,
) -> HolderAnswer:
    participant = enrollment.participant
    fapi = fapi_for(participant, log=CallLog(participant, consent=consent, enrollment=enrollment))
    try:
        token = consent_token(consent=enrollment, fapi=fapi)
        if not token:
            raise ParameterInvalid("O vínculo de conta ainda não foi autorizado na detentora (sem token da jornada).")
        return fapi.api(
            operation,
            "POST",
            url,
            token=token,
            data=body,
            idempotency_key=idempotency_key or str(uuid.uuid4()),
            customer_headers=customer_headers,
        )
    except HOLDER_FAILURES as exc:
        raise holder_failure(exc, url) from exc


def _data(body: Any, *names: str) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ParameterMissing("Corpo deve conter o objeto data.")
    for name in names:
        if not data.get(name):
            raise ParameterMissing(f"data.{name} não informado.")
    return data


def fido_registration_options(
    *,
    application: Application,
    enrollment_id: str,
    body: Any,
    idempotency_key: str,
    authorisation_server_id: str = "",
) -> HolderReply:
    """WebAuthn creation options for the device (``rp``: the application's domain; ``platform``)."""
    _data(body, "rp", "platform")
    enrollment = enrollment_for(application, enrollment_id, authorisation_server_id)
    url = enrollment_url(enrollment, "/fido-registration-options")
    answer = _journey_call(enrollment, "fido-registration-options", url, body, idempotency_key=idempotency_key)
    if answer.status_code >= 400:
        refresh_quietly(enrollment, actor="holder:fido-registration-options")
    return HolderReply(answer.status_code, answer.body, enrollment.regulatory_version, url, answer.interaction_id)


def fido_registration(
    *,
    application: Application,
    enrollment_id: str,
    body: Any,
    idempotency_key: str,
    authorisation_server_id: str = "",
) -> HolderReply:
    """The credential the device created (clientDataJSON + attestationObject: public key only) → AUTHORISED, or
    the holder's 422 and the enrollment REJECTED (REJEITADO_FALHA_FIDO)."""
    _data(body, "id", "rawId", "response")
    enrollment = enrollment_for(application, enrollment_id, authorisation_server_id)
    url = enrollment_url(enrollment, "/fido-registration")
    answer = _journey_call(enrollment, "fido-registration", url, body, idempotency_key=idempotency_key)
    refresh_quietly(enrollment, actor="holder:fido-registration")
    return HolderReply(answer.status_code, answer.body, enrollment.regulatory_version, url, answer.interaction_id)


def consent_authorise(
    *,
    application: Application,
    consent_id: str,
    body: Any,
    idempotency_key: str,
    product: str = ConsentProduct.PAYMENTS,
    authorisation_server_id: str = "",
    customer_headers: dict[str, str] | None = None,
) -> HolderReply:
    """The device's assertion authorises the consent at the holder (204: AUTHORISED or PARTIALLY_ACCEPTED); the
    consent is then tied to the enrollment, whose token pays it. A refusal (divergent debit account, a failed
    assertion, an enrollment no longer AUTHORISED) is the holder's regulated error, and the consent is read back."""
    data = _data(body, "enrollmentId", "riskSignals", "fidoAssertion")
    consent = consent_for(application, consent_id, authorisation_server_id, product)
    enrollment = enrollment_for(application, str(data["enrollmentId"]))
    if enrollment.participant_id != consent.participant_id:
        raise ParameterInvalid("O vínculo de conta e o consentimento são de detentoras diferentes.")
    url = f"{api_root(enrollment)}/{AUTHORISE_PATHS[ConsentProduct(product)]}/{consent.consent_id}/authorise"
    answer = _journey_call(
        enrollment,
        "consent-authorise",
        url,
        body,
        idempotency_key=idempotency_key,
        consent=consent,
        customer_headers=customer_headers,
    )
    if answer.status_code == 204:
        with transaction.atomic():
            InitiatorConsent.objects.filter(pk=consent.pk).update(enrollment=enrollment)
    with contextlib.suppress(HolderUnreachable):
        consent_refresh(consent=consent, actor="holder:fido-authorise")
    return HolderReply(answer.status_code, answer.body, enrollment.regulatory_version, url, answer.interaction_id)
