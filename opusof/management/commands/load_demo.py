"""Loads what a local run needs to be tried by hand: a staff login, the sandbox bank's customers and a demo TPP.

Idempotent: whatever already exists is kept as it is, so a second run writes nothing.
"""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.db import transaction
from jwt.algorithms import RSAAlgorithm

from connectors.sandbox.demo import load_sandbox_demo
from initiator.demo import load_initiator_demo
from merchant.models import Merchant
from merchant.services.merchants import merchant_create
from opusof.authserver.directory import stand_in_key
from opusof.keys import jwk_thumbprint, load_or_create_private_key
from opusof.models import TppClient
from opusof.services import tpp_client_register

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
ADMIN_EMAIL = "admin@example.com"

DEMO_CLIENT_ID = "opusof-demo-tpp"
DEMO_ORGANISATION_ID = "c8f0bf49-4744-4933-8960-7add6e590841"
DEMO_SOFTWARE_STATEMENT_ID = "2f6c1d1e-2a5b-4c1e-9a4e-3c1c6f0d9b71"
DEMO_SCOPES = ["payments", "openid"]

_README = """\
Demo TPP of this local opusof run (written by `manage.py load_demo`; delete this folder and rerun to rotate).

- private-key.pem  RSA 2048 private key (PKCS#8): signs the TPP's request JWS (PS256) and client assertions.
- jwks.json        its public JWKS, registered inline on the client.
- client.json      client_id, organisation_id (the JWS `iss`), kid, scopes.

Not a secret anywhere but on this machine; never use it outside a local run.
"""


def _write_if_changed(path: Path, content: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == content:
        return False
    path.write_text(content, encoding="utf-8")
    return True


class Command(BaseCommand):
    help = "Create the demo staff login, the sandbox bank's demo customers and a demo TPP client (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            admin_created = self._admin()
            demo = load_sandbox_demo()
            tpp_dir, kid, client_state = self._demo_tpp()
        # The local stand-in OFB Directory: its key signs software statements that /auth/register trusts.
        try:
            directory = f"Stand-in OFB Directory key {stand_in_key()[1]}"
        except ImproperlyConfigured:
            directory = "Trusted OFB Directory JWKS already configured (no stand-in)"

        self.stdout.write(
            f"Staff login: {ADMIN_USERNAME} / {ADMIN_PASSWORD} ({'created' if admin_created else 'already there'})"
        )
        # The sandbox engineer owns the shape of `demo`; print what is there without depending on every key.
        self.stdout.write(
            f"Sandbox bank (ISPB {demo.get('ispb', '?')}); customers log in with CPF + password "
            f"{demo.get('password', '?')}:"
        )
        for customer in demo.get("customers", []):
            accounts = ", ".join(f"{a.get('number')} {a.get('account_type')}" for a in customer.get("accounts", []))
            self.stdout.write(f"  {customer.get('name')} ({customer.get('document')}): {accounts}")
        for kind, qr in demo.get("qr_codes", {}).items():
            self.stdout.write(f"  QR code {kind}: txid {qr.get('txid')}, R$ {qr.get('amount')}")
        self.stdout.write(
            f"Demo TPP client {DEMO_CLIENT_ID} ({client_state}): organisation {DEMO_ORGANISATION_ID}, "
            f"kid {kid}, scopes {' '.join(DEMO_SCOPES)}; keys in {tpp_dir}"
        )
        self.stdout.write(f"{directory}: {settings.OPUSOF_DIRECTORY_JWKS_PATH}")
        initiator = load_initiator_demo()
        self.stdout.write(
            f"Initiator gateway: {initiator['participants']} participant(s); demo application "
            f"{initiator['application']['applicationId']} ({initiator['state']}); credential in {initiator['file']}"
        )
        self.stdout.write(f"Demo shop merchant {settings.SHOP_CLIENT_ID} ({self._demo_shop()}): /loja/")

    def _demo_shop(self) -> str:
        """The merchant the demo shop (shop/) calls the Efí dialect as; its secret is the SHOP_CLIENT_SECRET setting,
        public in a sandbox, which is why production serves no shop unless configured."""
        if Merchant.objects.filter(client_id=settings.SHOP_CLIENT_ID).exists():
            return "already there"
        merchant_create(
            name="Loja Exemplo",
            redirect_url=f"{settings.OPUSOF_BASE_URL.rstrip('/')}/loja/retorno",
            client_id=settings.SHOP_CLIENT_ID,
            client_secret=settings.SHOP_CLIENT_SECRET,
        )
        return "created"

    def _admin(self) -> bool:
        user_model = get_user_model()
        if user_model.objects.filter(username=ADMIN_USERNAME).exists():
            return False
        user_model.objects.create_superuser(username=ADMIN_USERNAME, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        return True

    def _demo_tpp(self) -> tuple[Path, str, str]:
        tpp_dir = Path(settings.VAR_DIR) / "demo-tpp"
        tpp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created once (atomically, mode 0600) and reused afterwards, so the registered JWKS stays valid.
        key = load_or_create_private_key(tpp_dir / "private-key.pem", autocreate=True)
        public: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        jwk = {"kty": public["kty"], "n": public["n"], "e": public["e"]}
        kid = jwk_thumbprint(jwk)
        jwks = {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "PS256"}]}

        _write_if_changed(tpp_dir / "jwks.json", json.dumps(jwks, indent=2) + "\n")
        info = {
            "client_id": DEMO_CLIENT_ID,
            "organisation_id": DEMO_ORGANISATION_ID,
            "software_statement_id": DEMO_SOFTWARE_STATEMENT_ID,
            "kid": kid,
            "scopes": DEMO_SCOPES,
            "private_key": "private-key.pem",
            "jwks": "jwks.json",
        }
        _write_if_changed(tpp_dir / "client.json", json.dumps(info, indent=2) + "\n")
        _write_if_changed(tpp_dir / "README.md", _README)

        existing = TppClient.objects.filter(client_id=DEMO_CLIENT_ID).first()
        if existing is not None and existing.jwks == jwks:
            return tpp_dir, kid, "already registered"
        tpp_client_register(
            client_id=DEMO_CLIENT_ID,
            organisation_id=DEMO_ORGANISATION_ID,
            organisation_name="Demo Iniciadora de Pagamentos Ltda",
            software_statement_id=DEMO_SOFTWARE_STATEMENT_ID,
            name="opusof demo TPP",
            redirect_uris=["https://demo-tpp.example.com/callback"],
            jwks=jwks,
            scopes=DEMO_SCOPES,
            roles=["PAGTO"],
        )
        return tpp_dir, kid, "registered" if existing is None else "re-registered with the key in var/"
