"""Changes to an authorised recurring consent: revocation (by the TPP, the customer or staff) and edition (PATCH,
Pix Automático only). Charges the consent no longer covers are withdrawn (``recurring.services.cancellation``)."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from opusof import clock
from opusof.errors import ParameterMissing
from opusof.models import TppClient
from opusof.timeutil import business_date
from opusof.transitions import transition
from payments.models import PaymentStatus
from recurring import errors
from recurring.expiry import lock_recurring_consent
from recurring.models import (
    Product,
    RecurringConsent,
    RecurringConsentStatus,
    RecurringConsentStatusChange,
    RecurringPayment,
    RecurringRejectionCode,
)
from recurring.services.cancellation import record_withdrawal, withdraw_recorded
from recurring.validation import (
    AUTOMATIC_EXPIRY_TIME,
)


def recurring_consent_revoke(
    *,
    recurring_consent_id: str,
    code: str,
    detail: str,
    revoked_by: str,
    revoked_from: str,
    actor: str,
    client: TppClient | None = None,
) -> RecurringConsent:
    """Revocation of an AUTHORISED consent, by the TPP (PATCH), the customer (consent management area) or staff
    (admin). Payments scheduled until 23:59 of the next day are kept; later ones are cancelled (§2.3): recorded
    with the revocation, asked of the bank after it commits."""
    later: list[RecurringPayment] = []
    revoked = False
    with transaction.atomic():
        consent = lock_recurring_consent(recurring_consent_id=recurring_consent_id, client=client)
        now = clock.now().replace(microsecond=0)
        if consent.status == RecurringConsentStatus.AUTHORISED:
            revoked = True
            transition(
                consent,
                lambda: consent.revoke(by=revoked_by, channel=revoked_from, code=code, detail=detail, at=now),
                actor=actor,
                reason=code,
                now=now,
            )
            keep_until = business_date(now) + dt.timedelta(days=1)
            later = list(
                RecurringPayment.objects.select_for_update().filter(
                    consent=consent, status=PaymentStatus.SCHD, date__gt=keep_until
                )
            )
            for payment in later:
                record_withdrawal(
                    payment,
                    consent,
                    code=RecurringRejectionCode.CONSENTIMENTO_REVOGADO,
                    detail="Consentimento revogado.",
                    actor=f"{actor} (revogação)",
                )
    if revoked:
        withdraw_recorded([payment.recurring_payment_id for payment in later])
        return consent
    # raised after the block, so an expiry the lock applied (CONSUMED) is kept
    raise errors.ConsentNotCancellable(f"Consentimento em {consent.status} não pode ser revogado.")


# --- consent edition (PATCH, Pix Automático only) --------------------------------------------------------------------


def recurring_consent_edit(*, client: TppClient, recurring_consent_id: str, data: dict[str, Any]) -> RecurringConsent:
    """PATCH edition (§2.4): only creditor names, expirationDateTime and maximumVariableAmount of an AUTHORISED
    Pix Automático consent; risk signals required; the user must have full power over the consent."""
    later: list[RecurringPayment] = []
    with transaction.atomic():
        consent = lock_recurring_consent(recurring_consent_id=recurring_consent_id, client=client)
        now = clock.now().replace(microsecond=0)
        if consent.product != Product.AUTOMATIC:
            raise errors.FieldNotAllowed("Somente consentimentos de Pix Automático podem ser editados.")
        if consent.status != RecurringConsentStatus.AUTHORISED:
            raise errors.EditionInvalid(f"Consentimento em {consent.status} não pode ser editado.")
        if consent.approvals_required > 1:
            raise errors.InsufficientPermission("Consentimento com múltiplas alçadas de aprovação.")
        block = consent.settings
        new_max = ((data.get("recurringConfiguration") or {}).get("automatic") or {}).get("maximumVariableAmount")
        if new_max is not None and "fixedAmount" in block:
            raise errors.FieldNotAllowed("maximumVariableAmount não é editável em consentimento de valor fixo.")
        minimum = block.get("minimumVariableAmount")
        if new_max is not None and minimum is not None and Decimal(new_max) < Decimal(minimum):
            raise errors.EditionInvalid("maximumVariableAmount menor que minimumVariableAmount.")
        new_expiry: dt.datetime | None = None
        if raw := data.get("expirationDateTime"):
            new_expiry = dt.datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
            if new_expiry.time() != AUTOMATIC_EXPIRY_TIME or new_expiry.date() < now.date():
                raise errors.EditionInvalid("expirationDateTime deve ser hoje ou depois, às 23:59:59 (UTC).")
        creditors = data["creditors"]
        if len(creditors) != len(consent.creditors) or any("name" not in item for item in creditors):
            raise errors.EditionInvalid("creditors deve trazer o nome de cada recebedor do consentimento.")
        current_max = block.get("maximumVariableAmount")
        current_expiry = consent.expires_at
        name_only = new_max == current_max and new_expiry == current_expiry
        # Both are mandatory "exceto para o caso de edição exclusiva do campo /data/creditors/name" (yml lines 1539,
        # 2391; spec_versions "name-only-edition").
        if "riskSignals" not in data and not name_only:
            raise errors.RiskSignalsMissing("riskSignals obrigatório na edição do consentimento.")
        logged = data.get("loggedUser")
        if logged is None and not name_only:
            raise ParameterMissing("loggedUser obrigatório para editar valor ou expiração.")
        if logged is not None and logged["document"]["identification"] != consent.logged_user_document:
            raise errors.InsufficientPermission("Usuário não tem poderes sobre este consentimento.")
        business = (data.get("businessEntity") or {}).get("document", {}).get("identification")
        if business is not None and business != consent.business_entity_document:
            raise errors.InsufficientPermission("businessEntity diverge do consentimento.")
        # Omitted = indefinite (§2.4): both fields take the sent value, or none.
        configuration = {Product.AUTOMATIC.value: dict(block)}
        if new_max is None:
            configuration[Product.AUTOMATIC].pop("maximumVariableAmount", None)
        else:
            configuration[Product.AUTOMATIC]["maximumVariableAmount"] = new_max
        consent.configuration = configuration
        consent.expires_at = new_expiry
        consent.creditors = [
            {**old, "name": new["name"]} for old, new in zip(consent.creditors, creditors, strict=True)
        ]
        consent.updated_at = now
        consent.save()
        RecurringConsentStatusChange.objects.create(
            consent=consent,
            from_status=consent.status,
            to_status=consent.status,
            actor=f"tpp:{client.client_id}",
            reason="edição",
            created_at=now,
        )
        if new_expiry is not None:
            # "Se a nova data de expiração for anterior a pagamentos já agendados, estes devem ser cancelados."
            later = list(
                RecurringPayment.objects.select_for_update().filter(
                    consent=consent, status=PaymentStatus.SCHD, date__gt=new_expiry.date()
                )
            )
            for payment in later:
                record_withdrawal(
                    payment,
                    consent,
                    code=RecurringRejectionCode.FORA_PRAZO_PERMITIDO,
                    detail="Data posterior à nova expiração do consentimento.",
                    actor="system:edição",
                )
    withdraw_recorded([payment.recurring_payment_id for payment in later])
    return consent
