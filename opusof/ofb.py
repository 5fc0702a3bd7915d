"""Wire-format helpers shared by every OFB API: money strings and account blocks."""

from decimal import Decimal
from typing import Any

from connectors.interfaces import AccountRef, AccountType

MAX_PAYMENT_AMOUNT = Decimal("999999999.99")


def money(value: Decimal) -> str:
    """The spec's amount string ``^\\d{1,16}\\.\\d{2}$``; never a float on the way."""
    return f"{value.quantize(Decimal('0.01')):f}"


def account_ref(ispb: str, issuer: str | None, number: str, account_type: str) -> AccountRef:
    """An account as the connectors see it; an empty issuer (branch) is no issuer."""
    return AccountRef(ispb=ispb, issuer=issuer or None, number=number, account_type=AccountType(account_type))


def account_from_wire(block: dict[str, Any]) -> AccountRef:
    return account_ref(block["ispb"], block.get("issuer"), block["number"], block["accountType"])


def account_to_wire(account: AccountRef) -> dict[str, str]:
    wire = {"ispb": account.ispb, "number": account.number, "accountType": str(account.account_type)}
    if account.issuer:
        wire["issuer"] = account.issuer
    return wire
