"""The sandbox bank's rules: every reason it refuses a payment (account, DICT, QR code, limits, balance), each as
the OFB code a real bank would answer with, and the lookups they read (accounts, Pix keys, charges)."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from connectors.interfaces import AccountRef, BankPaymentStatus, PaymentData
from connectors.models import SandboxAccount, SandboxPayment, SandboxPixKey, SandboxQrCode
from connectors.sandbox import scenarios
from opusof.brcode import BrCodeError, parse_brcode
from opusof.timeutil import business_date, business_tz

Behaviour = SandboxAccount.Behaviour
Status = BankPaymentStatus
INSUFFICIENT_FUNDS_DETAIL = "A conta selecionada não possui saldo suficiente para realizar o pagamento."
# Consent-stage codes become the payment-stage code raised at initiation (payments v4 §2.2.2: an account or QR
# the holder refuses is PAGAMENTO_RECUSADO_DETENTORA), most specific first (§5.2 for the consent-stage order).
INITIATION_REFUSALS = [
    ("CONTA_NAO_PERMITE_PAGAMENTO", "PAGAMENTO_RECUSADO_DETENTORA"),
    ("CONTAS_ORIGEM_DESTINO_IGUAIS", "PAGAMENTO_RECUSADO_DETENTORA"),
    ("DETALHE_PAGAMENTO_INVALIDO", "DETALHE_PAGAMENTO_INVALIDO"),
    ("VALOR_INVALIDO", "VALOR_INVALIDO"),
    ("QRCODE_INVALIDO", "PAGAMENTO_RECUSADO_DETENTORA"),
    ("COBRANCA_INVALIDA", "COBRANCA_INVALIDA"),
    ("VALOR_ACIMA_LIMITE", "VALOR_ACIMA_LIMITE"),
    ("SALDO_INSUFICIENTE", "SALDO_INSUFICIENTE"),
    ("NAO_INFORMADO", "NAO_INFORMADO"),
]
# Money already committed today counts against the daily limit.
_COMMITTED = [Status.ACSC, Status.ACCP, Status.ACPD, Status.PDNG]


def account_key(ref: AccountRef) -> tuple[str, str, str, str]:
    return (ref.ispb, ref.issuer or "", ref.number, str(ref.account_type))


def normalise_key(key: str) -> str:
    # DICT stores e-mail keys in lowercase; every other key type is case-free or already canonical.
    return key.strip().lower() if "@" in key else key.strip()


def own_ispb() -> str:
    return str(settings.OPUSOF_ISPB)


def is_immediate(data: PaymentData) -> bool:
    return data.payment_date is None or data.payment_date <= business_date()


@dataclass(frozen=True)
class Accounts:
    """The accounts of one payment here, read together: the debtor's (with ``used_today``, its owner's immediate
    payments committed today, when the payment is immediate) and the creditor's when it is in this institution."""

    debtor: SandboxAccount | None
    creditor: SandboxAccount | None


def _by_ref(ref: AccountRef) -> Q:
    ispb, issuer, number, account_type = account_key(ref)
    return Q(ispb=ispb, issuer=issuer, number=number, account_type=account_type)


def load_accounts(data: PaymentData) -> Accounts:
    """The payment's debtor and creditor accounts with their owners and the debtor's daily use, in one query."""
    refs = [ref for ref in (data.debtor_account, data.creditor_account) if ref is not None]
    wanted = Q()
    for ref in refs:
        wanted |= _by_ref(ref)
    accounts = SandboxAccount.objects.select_related("owner").filter(wanted)
    if data.debtor_account is not None and is_immediate(data):
        start = dt.datetime.combine(business_date(), dt.time.min, tzinfo=business_tz())
        used = (
            SandboxPayment.objects.filter(
                debtor_account__owner=OuterRef("owner"),
                created_at__gte=start,
                scheduled_date=None,
                status__in=_COMMITTED,
            )
            .values("debtor_account__owner")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=18, decimal_places=2)
        accounts = accounts.annotate(used_today=Coalesce(Subquery(used, output_field=money), Value(Decimal("0"))))
    found = {account_key(account.ref): account for account in accounts}
    debtor = found.get(account_key(data.debtor_account)) if data.debtor_account is not None else None
    return Accounts(debtor=debtor, creditor=found.get(account_key(data.creditor_account)))


def issues(data: PaymentData, accounts: Accounts) -> list[tuple[str, str]]:
    """Every rule the payment breaks, one (code, detail) per OFB code; the domain picks by the spec's priority."""
    debtor = accounts.debtor
    found: dict[str, str] = {}
    debtor_problem = _debtor_problem(data, debtor) if data.debtor_account is not None else None
    if debtor_problem:
        found["CONTA_NAO_PERMITE_PAGAMENTO"] = debtor_problem
    if data.debtor_account is not None and account_key(data.debtor_account) == account_key(data.creditor_account):
        found["CONTAS_ORIGEM_DESTINO_IGUAIS"] = "A conta de origem é a mesma conta de destino."
    if scenarios.scenarios_enabled() and scenarios.is_consent_rejection_scenario(data.amount):
        found["NAO_INFORMADO"] = "Cenário de teste: pagamento recusado pela detentora na criação do consentimento."
    for code, detail in _qr_problems(data):
        found.setdefault(code, detail)
    if dict_problem := _dict_problem(data, accounts.creditor):
        found["DETALHE_PAGAMENTO_INVALIDO"] = dict_problem
    if debtor is not None and not debtor_problem:
        if limit_problem := _limit_problem(data, debtor):
            found["VALOR_ACIMA_LIMITE"] = limit_problem
        # Payments v4 §5.1.6/§4.1.1: a scheduled payment's balance is checked only when it settles.
        if is_immediate(data) and (debtor.behaviour == Behaviour.INSUFFICIENT_FUNDS or debtor.balance < data.amount):
            found["SALDO_INSUFICIENTE"] = INSUFFICIENT_FUNDS_DETAIL
    return list(found.items())


def _debtor_problem(data: PaymentData, debtor: SandboxAccount | None) -> str | None:
    if debtor is None or debtor.ispb != own_ispb():
        return "Conta de origem não encontrada nesta instituição."
    if not debtor.may_pay:
        return "A conta de origem não permite pagamentos."
    owner = debtor.owner
    if data.business_document:
        owns = (
            owner.document == data.business_document
            and owner.authorised_people.filter(document=data.customer_document).exists()
        )
    else:
        owns = owner.document == data.customer_document
    return None if owns else "A conta de origem não pertence ao cliente."


def _limit_problem(data: PaymentData, debtor: SandboxAccount) -> str | None:
    owner = debtor.owner
    if debtor.behaviour == Behaviour.LIMIT_EXCEEDED:
        return "Acima do limite estabelecido para a conta."
    if data.amount > owner.transaction_limit:
        return f"Acima do limite por transação de R$ {owner.transaction_limit:.2f}."
    if is_immediate(data):
        used: Decimal = getattr(debtor, "used_today", Decimal("0"))
        if used + data.amount > owner.daily_limit:
            return f"Acima do limite diário de R$ {owner.daily_limit:.2f}."
    return None


def _qr_problems(data: PaymentData) -> list[tuple[str, str]]:
    if not data.qr_code:
        return []
    try:
        code = parse_brcode(data.qr_code)
    except BrCodeError as exc:
        return [("QRCODE_INVALIDO", f"QR Code inválido: {exc}.")]
    if not code.is_dynamic:
        if data.local_instrument == "QRDN":
            return [("QRCODE_INVALIDO", "localInstrument QRDN exige um QR Code dinâmico.")]
        key_differs = code.key != data.proxy
        amount_differs = code.amount is not None and code.amount != data.amount
        problems = []
        if key_differs or amount_differs:
            problems.append(("QRCODE_INVALIDO", "Chave ou valor do pagamento divergem do QR Code."))
        if amount_differs and not key_differs:
            problems.append(("VALOR_INVALIDO", "O valor enviado não é válido para o QR Code informado."))
        return problems
    if data.local_instrument == "QRES":
        return [("QRCODE_INVALIDO", "localInstrument QRES exige um QR Code estático.")]
    qr = dynamic_qr(code.url)
    if qr is None:
        return [("COBRANCA_INVALIDA", "Cobrança não encontrada.")]
    problems = []
    if qr.status == SandboxQrCode.Status.USED:
        problems.append(("COBRANCA_INVALIDA", "Cobrança já paga."))
    elif qr.expires_at is not None and qr.expires_at <= timezone.now():
        problems.append(("COBRANCA_INVALIDA", "Cobrança expirada."))
    if qr.amount is not None and qr.amount != data.amount:
        problems.append(("VALOR_INVALIDO", "O valor enviado não é válido para o QR Code informado."))
    if data.proxy and data.proxy != qr.pix_key.key:
        problems.append(("QRCODE_INVALIDO", "proxy diverge da chave da cobrança."))
    return problems


def _dict_problem(data: PaymentData, creditor: SandboxAccount | None) -> str | None:
    if data.proxy:
        if scenarios.scenarios_enabled() and normalise_key(data.proxy) == scenarios.FAKE_PROXY:
            return "proxy: chave Pix não encontrada no DICT."
        entry = find_key(data.proxy)
        if entry is None:
            return "proxy: chave Pix não encontrada no DICT."
        if account_key(entry.account.ref) != account_key(data.creditor_account):
            return "creditorAccount: não é a conta da chave Pix informada."
        if entry.account.owner.document != data.creditor_document:
            return "creditor.cpfCnpj: não é o titular da chave Pix informada."
        return None
    if data.creditor_account.ispb != own_ispb():
        return None  # another institution's account is checked by the SPI, not by us
    if creditor is None:
        return "creditorAccount: conta inexistente nesta instituição."
    if creditor.owner.document != data.creditor_document:
        return "creditor.cpfCnpj: não é o titular da conta de destino."
    return None


def find_account(ref: AccountRef | None) -> SandboxAccount | None:
    if ref is None:
        return None
    return SandboxAccount.objects.select_related("owner").filter(_by_ref(ref)).first()


def find_key(key: str) -> SandboxPixKey | None:
    return SandboxPixKey.objects.select_related("account__owner").filter(key=normalise_key(key)).first()


def dynamic_qr(url: str | None) -> SandboxQrCode | None:
    return SandboxQrCode.objects.select_related("pix_key").filter(location=url, kind=SandboxQrCode.Kind.DYNAMIC).first()
