"""What a merchant registers once and names in its plans (Belvo's customers and beneficiary bank accounts), and
completing a plan recorded without being sent (Belvo ``confirm: false`` then ``PATCH``)."""

import uuid

from django.db import transaction

from merchant.errors import InvalidRequest, NotModifiable
from merchant.models import BeneficiaryAccount, Customer, CustomerType, Merchant, Plan, PlanStatus
from merchant.services.plans import Beneficiary, participant_check, plan_submit


def customer_register(
    *, merchant: Merchant, identifier: str, name: str, email: str = "", phone: str = "", address: str = ""
) -> tuple[Customer, bool]:
    """The merchant's customer of that CPF/CNPJ: created, or the one already registered (and False)."""
    kind = CustomerType.INDIVIDUAL if len(identifier) == 11 else CustomerType.BUSINESS
    return Customer.objects.get_or_create(
        merchant=merchant,
        identifier=identifier,
        defaults={"customer_type": kind, "name": name, "email": email, "phone": phone, "address": address},
    )


def beneficiary_register(*, merchant: Merchant, beneficiary: Beneficiary) -> tuple[BeneficiaryAccount, bool]:
    return BeneficiaryAccount.objects.get_or_create(
        merchant=merchant,
        ispb=beneficiary.ispb,
        issuer=beneficiary.issuer,
        number=beneficiary.number,
        account_type=beneficiary.account_type,
        defaults={"holder_name": beneficiary.name, "holder_identifier": beneficiary.document},
    )


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def customer_find(*, merchant: Merchant, customer_id: str) -> Customer | None:
    found = _uuid(customer_id)
    return Customer.objects.filter(merchant=merchant, pk=found).first() if found else None


def beneficiary_find(*, merchant: Merchant, account_id: str) -> BeneficiaryAccount | None:
    found = _uuid(account_id)
    return BeneficiaryAccount.objects.filter(merchant=merchant, pk=found).first() if found else None


def beneficiary_of(account: BeneficiaryAccount) -> Beneficiary:
    return Beneficiary(
        name=account.holder_name,
        document=account.holder_identifier,
        ispb=account.ispb,
        issuer=account.issuer,
        number=account.number,
        account_type=account.account_type,
    )


def plan_complete(
    *,
    plan: Plan,
    authorisation_server_id: str = "",
    account: BeneficiaryAccount | None = None,
    confirm: bool,
    field: str = "payer_institution",
) -> Plan:
    """Fills in what a recorded plan still lacks, then (``confirm``) sends it to the payer's bank. Once sent,
    nothing changes; a confirmed plan the bank did not answer is sent again."""
    if authorisation_server_id:
        participant_check(authorisation_server_id, field=field)
    with transaction.atomic():
        locked = Plan.objects.select_for_update().select_related("merchant__application").get(pk=plan.pk)
        if locked.consent_id or locked.status != PlanStatus.AWAITING_AUTHORISATION:
            raise NotModifiable("The payment intent was already sent to the payer's institution.")
        changes = bool(authorisation_server_id or account)
        if locked.confirmed and changes:
            raise NotModifiable("The payment intent is already confirmed.")
        if not locked.confirmed and not changes and not confirm:
            raise InvalidRequest("Nothing to update: send payment_method_details or confirm.", field="confirm")
        if authorisation_server_id:
            locked.authorisation_server_id = authorisation_server_id
        if account is not None:
            locked.creditor = beneficiary_of(account).__dict__
            locked.beneficiary_account = account
        locked.confirmed = locked.confirmed or confirm
        locked.save(update_fields=["authorisation_server_id", "creditor", "beneficiary_account", "confirmed"])
    return plan_submit(plan=locked) if locked.confirmed else locked
