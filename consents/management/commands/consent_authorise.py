"""Approve (or reject) a consent as the customer would at the bank, until the consent pages land.

manage.py consent_authorise urn:opusof:... --account 10000001
manage.py consent_authorise urn:opusof:... --reject
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.registry import account_discovery
from consents.models import ConsentRejectionReason, PaymentConsent
from consents.services import consent_authorise, consent_reject
from opusof.errors import RegulatedError


class Command(BaseCommand):
    help = "Authorises a payment consent with one of the customer's accounts (from the connector's discovery)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("consent_id")
        parser.add_argument("--account", help="debtor account number; default: the first account that may pay")
        parser.add_argument("--approvals", type=int, default=1, help="approvers required (multi-approval)")
        parser.add_argument("--reject", action="store_true", help="the customer rejects the consent instead")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            consent = PaymentConsent.objects.get(consent_id=options["consent_id"])
        except PaymentConsent.DoesNotExist as exc:
            raise CommandError(f"consent {options['consent_id']} not found") from exc
        actor = f"operator:customer:{consent.logged_user_document}"
        try:
            if options["reject"]:
                consent = consent_reject(
                    consent_id=consent.consent_id,
                    reason=ConsentRejectionReason.REJEITADO_USUARIO,
                    detail="O usuário rejeitou o consentimento.",
                    actor=actor,
                )
            else:
                accounts = account_discovery().discover_accounts(
                    customer_document=consent.logged_user_document,
                    business_document=consent.business_entity_document or None,
                )
                chosen = [a for a in accounts if a.may_pay and options["account"] in (None, a.account.number)]
                if not chosen:
                    raise CommandError(f"no account that may pay among {[a.account.number for a in accounts]}")
                consent = consent_authorise(
                    consent_id=consent.consent_id,
                    debtor_account=chosen[0].account,
                    actor=actor,
                    approvals_required=options["approvals"],
                )
        except RegulatedError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        self.stdout.write(f"{consent.consent_id}: {consent.status} {consent.rejection_reason}".rstrip())
