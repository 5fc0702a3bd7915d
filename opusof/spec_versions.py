"""Which version's behaviour each regulated choice follows, where the implemented yml (payments 4.0.0, automatic
payments 2.0.0, enrollments 2.1.0) names no code or is silent, and a later line or its certification suite decides.

One row per choice; the code that implements it names the row's key. docs/spec-versions.md renders this table
(``markdown_table``; a test keeps the two equal).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class VersionChoice:
    key: str
    api: str
    rule: str
    behaviour: str
    follows: str
    where: str


CHOICES: tuple[VersionChoice, ...] = (
    VersionChoice(
        key="charge-before-first-payment",
        api="automatic-payments v2",
        rule="A charge dated before the consent's firstPayment.date",
        behaviour="422 PAGAMENTO_DIVERGENTE_CONSENTIMENTO",
        follows="2.2.0 certification suite (2.0.0 yml names no code)",
        where="recurring.checks._check_automatic_dates",
    ),
    VersionChoice(
        key="charge-before-reference-start",
        api="automatic-payments v2",
        rule="A charge dated before recurringConfiguration.automatic.referenceStartDate",
        behaviour="422 PAGAMENTO_DIVERGENTE_CONSENTIMENTO (was FORA_PRAZO_PERMITIDO)",
        follows="2.2.0 certification suite (2.0.0 yml names no code)",
        where="recurring.checks._check_automatic_dates",
    ),
    VersionChoice(
        key="charge-before-start",
        api="automatic-payments v2",
        rule="A sweeping charge before recurringConfiguration.sweeping.startDateTime",
        behaviour="422 PAGAMENTO_DIVERGENTE_CONSENTIMENTO (was FORA_PRAZO_PERMITIDO)",
        follows="2.2.0 certification suite (2.0.0 yml names no code)",
        where="recurring.checks._check_sweeping",
    ),
    VersionChoice(
        key="first-payment-other-creditor",
        api="automatic-payments v2",
        rule="The first payment (paymentReference zero) to another creditor account than firstPayment's",
        behaviour="422 PAGAMENTO_DIVERGENTE_CONSENTIMENTO (was DETALHE_PAGAMENTO_INVALIDO)",
        follows="2.2.0 certification suite (2.0.0 yml names no code)",
        where="recurring.checks._check_automatic_amount",
    ),
    VersionChoice(
        key="minimum-variable-amount",
        api="automatic-payments v2",
        rule="A charge below minimumVariableAmount",
        behaviour="accepted: the minimum is the receiver's floor for the payer's maximum, not a charge floor",
        follows="2.0.0 yml line 2589 ('Não representa um valor mínimo de cobrança')",
        where="recurring.checks._check_automatic_amount",
    ),
    VersionChoice(
        key="empty-periodic-limit",
        api="automatic-payments v2",
        rule="A periodic limit object (day/week/month/year) with neither quantityLimit nor transactionLimit",
        behaviour="422 PARAMETRO_NAO_INFORMADO",
        follows="2.0.0 yml line 2911 ('ao menos um dos campos ... devem ser preenchidos')",
        where="recurring.validation._validate_periodic_limits",
    ),
    VersionChoice(
        key="name-only-edition",
        api="automatic-payments v2",
        rule="A consent edition that changes only creditors[].name",
        behaviour="needs neither riskSignals nor loggedUser",
        follows="2.0.0 yml lines 1539 and 2391",
        where="recurring.services.amendments.recurring_consent_edit",
    ),
    VersionChoice(
        key="logged-user-divergent",
        api="automatic-payments v2",
        rule="The customer who logs in on the consent page is not the consent's loggedUser",
        behaviour="consent REJECTED with rejectionReason AUTENTICACAO_DIVERGENTE, the customer told so",
        follows="2.0.0 yml line 87 (§ rejection reasons)",
        where="recurring.services.consents.recurring_consent_reject_divergent_login",
    ),
    VersionChoice(
        key="logged-user-divergent-payments",
        api="payments v4, enrollments v2",
        rule="The customer who logs in is not the consent's or enrollment's loggedUser",
        behaviour="an error page; the consent or enrollment stays waiting until it expires (unchanged)",
        follows="payments 4.0.0 and enrollments 2.1.0 name no such rejection reason",
        where="opusof.authserver.pages",
    ),
)


def choice(key: str) -> VersionChoice:
    return next(row for row in CHOICES if row.key == key)


def markdown_table() -> str:
    lines = [
        "| Key | API | Rule | Behaviour | Follows | Where |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{row.key}` | {row.api} | {row.rule} | {row.behaviour} | {row.follows} | `{row.where}` |" for row in CHOICES
    ]
    return "\n".join(lines) + "\n"
