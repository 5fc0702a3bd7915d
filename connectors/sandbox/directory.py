"""The sandbox bank's directory side: the DICT (Pix keys), the BR Codes it issues and serves, and its customers'
login (the consent pages)."""

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from connectors.interfaces import AccountRef
from connectors.models import SandboxCustomer, SandboxPixKey, SandboxQrCode
from connectors.sandbox.rules import find_key, normalise_key
from opusof.brcode import build_dynamic, build_static
from opusof.timeutil import rfc3339


@dataclass(frozen=True)
class PixKeyEntry:
    """A DICT entry: the key, the account it points at and that account's owner."""

    key: str
    key_type: str
    account: AccountRef
    owner_name: str
    owner_document: str


class SandboxDirectory:
    """Pix keys, QR codes and customer login of the sandbox bank (``SandboxBank`` inherits them)."""

    def lookup_pix_key(self, key: str) -> PixKeyEntry | None:
        """The DICT entry of ``key`` (CPF, CNPJ, +55 phone, e-mail or EVP), or None."""
        entry = find_key(key)
        if entry is None:
            return None
        owner = entry.account.owner
        return PixKeyEntry(entry.key, entry.key_type, entry.account.ref, owner.name, owner.document)

    def authenticate(self, document: str, password: str) -> SandboxCustomer | None:
        """The individual customer with this CPF and password (consent pages log in with it), or None."""
        customer = SandboxCustomer.objects.filter(document=document, kind=SandboxCustomer.Kind.INDIVIDUAL).first()
        return customer if customer is not None and customer.check_password(password) else None

    def issue_static_qr(
        self, *, key: str, txid: str, amount: Decimal | None = None, city: str = "SAO PAULO"
    ) -> SandboxQrCode:
        """Issues a reusable static BR Code for one of this directory's keys."""
        pix_key = SandboxPixKey.objects.select_related("account__owner").get(key=normalise_key(key))
        payload = build_static(pix_key.key, amount, pix_key.account.owner.name[:25], city, txid=txid)
        return SandboxQrCode.objects.create(
            txid=txid,
            kind=SandboxQrCode.Kind.STATIC,
            payload=payload,
            amount=amount,
            pix_key=pix_key,
            creditor_account=pix_key.account,
        )

    def issue_dynamic_qr(
        self,
        *,
        key: str,
        amount: Decimal,
        txid: str | None = None,
        expires_in: dt.timedelta = dt.timedelta(hours=1),
        city: str = "SAO PAULO",
        location: str | None = None,
    ) -> SandboxQrCode:
        """Issues a single-use dynamic BR Code; its location serves :meth:`dynamic_qr_payload`."""
        pix_key = SandboxPixKey.objects.select_related("account__owner").get(key=normalise_key(key))
        host = urlsplit(settings.OPUSOF_BASE_URL).netloc
        location = location or f"{host}/sandbox/qr/{uuid.uuid4().hex}"
        now = timezone.now()
        return SandboxQrCode.objects.create(
            txid=txid or uuid.uuid4().hex,  # 32 letters and digits: inside the QRDN 26..35 range
            kind=SandboxQrCode.Kind.DYNAMIC,
            payload=build_dynamic(location, pix_key.account.owner.name[:25], city),
            amount=amount,
            pix_key=pix_key,
            creditor_account=pix_key.account,
            location=location,
            created_at=now,
            expires_at=now + expires_in,
        )

    def dynamic_qr_payload(self, url: str) -> dict[str, Any] | None:
        """What the dynamic QR's location serves (the BCB API Pix ``cob`` JSON, unsigned), or None when unknown."""
        location = url.split("://", 1)[-1]
        qr = SandboxQrCode.objects.filter(location=location).select_related("pix_key").first()
        if qr is None:
            return None
        expiry = int((qr.expires_at - qr.created_at).total_seconds()) if qr.expires_at else 86_400
        return {
            "revisao": 0,
            "calendario": {
                "criacao": rfc3339(qr.created_at),
                "apresentacao": rfc3339(timezone.now()),
                "expiracao": expiry,
            },
            "txid": qr.txid,
            "valor": {"original": f"{qr.amount:.2f}"}
            if qr.amount is not None
            else {"original": "0.00", "modalidadeAlteracao": 1},
            "chave": qr.pix_key.key,
            "status": "ATIVA" if qr.status == SandboxQrCode.Status.ACTIVE else "CONCLUIDA",
        }
