"""The bench's TPP: registered in the bench database, signs its own requests, authorises consents via the
service (standing in for the customer's consent page)."""

import os
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from loadgen import PreparedRequest
from validate_docbr import CPF

from connectors.interfaces import AccountRef
from consents.services import consent_authorise
from opusof.keys import holder_public_jwks
from opusof.services import tpp_client_register
from opusof.timeutil import business_date, business_tz
from opusof.tokens import access_token_mint

# The audience of the signed requests: the base URL the bench started the server with.
BASE = os.environ.get("OPUSOF_BASE_URL", "http://127.0.0.1:8765")
ISPB = "99999004"
CUSTOMERS = 200
CREDITOR = {"ispb": "12345678", "issuer": "0001", "number": "90000001", "accountType": "CACC"}


def bench_customers(count: int = CUSTOMERS) -> list[tuple[str, AccountRef]]:
    """Real load spreads over many payers; one shared debtor account would only measure its row lock."""
    from connectors.models import SandboxAccount, SandboxCustomer

    generator = CPF()
    customers = []
    for index in range(count):
        customer = SandboxCustomer.objects.create(
            document=generator.generate(), kind=SandboxCustomer.Kind.INDIVIDUAL, name=f"Cliente Bench {index}"
        )
        account = SandboxAccount.objects.create(
            owner=customer,
            ispb=ISPB,
            issuer="0001",
            number=f"7{index:07d}",
            account_type="CACC",
            balance=Decimal("1000000.00"),
        )
        customers.append((customer.document, account.ref))
    return customers


def consent_payload(cpf: str) -> dict[str, Any]:
    return {
        "loggedUser": {"document": {"identification": cpf, "rel": "CPF"}},
        "creditor": {
            "personType": "PESSOA_JURIDICA",
            "cpfCnpj": "12345678000195",
            "name": "Loja Exemplo Comercio Ltda",
        },
        "payment": {
            "type": "PIX",
            "currency": "BRL",
            "amount": "1.00",
            "date": business_date().isoformat(),
            "details": {"localInstrument": "MANU", "creditorAccount": CREDITOR},
        },
    }


def end_to_end_id() -> str:
    import datetime as dt

    moment = dt.datetime.combine(business_date(), dt.time(12, 0), tzinfo=business_tz()).astimezone(dt.UTC)
    return f"E12345678{moment:%Y%m%d%H%M}{uuid.uuid4().hex[:11]}"


@dataclass
class BenchTpp:
    client: Any
    key: rsa.RSAPrivateKey
    kid: str
    token: str
    customers: list[tuple[str, AccountRef]]
    debtors: dict[str, AccountRef] = field(default_factory=dict)

    @classmethod
    def register(cls) -> "BenchTpp":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        kid = "bench-tpp"
        client = tpp_client_register(
            client_id=f"bench-{uuid.uuid4().hex[:8]}",
            organisation_id=str(uuid.uuid4()),
            name="Bench TPP",
            jwks={"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "PS256"}]},
            scopes=["openid", "payments"],
            roles=["PAGTO"],
        )
        token = access_token_mint(client=client, grant_type="client_credentials", scopes=["payments"], ttl_seconds=3600)
        return cls(client=client, key=key, kid=kid, token=token, customers=bench_customers())

    def _signed(self, path: str, body: dict[str, Any]) -> bytes:
        claims = {
            **body,
            "aud": f"{BASE}{path}",
            "iss": self.client.organisation_id,
            "iat": int(time.time()),
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.key, algorithm="PS256", headers={"kid": self.kid, "typ": "JWT"}).encode()

    def _headers(self, token: str, *, body: bool) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
            "x-fapi-interaction-id": str(uuid.uuid4()),
            "Accept": "application/jwt",
        }
        if body:
            headers |= {"Content-Type": "application/jwt", "x-idempotency-key": str(uuid.uuid4())}
        return headers

    def create_consent_request(self, path: str, index: int = 0) -> PreparedRequest:
        cpf, _ = self.customers[index % len(self.customers)]
        body = {"data": consent_payload(cpf)}
        return PreparedRequest("POST", path, self._headers(self.token, body=True), self._signed(path, body))

    def authorise(self, consent_ids: list[str]) -> list[str]:
        tokens = []
        from consents.models import PaymentConsent

        accounts = dict(self.customers)
        owners = dict(
            PaymentConsent.objects.filter(consent_id__in=consent_ids).values_list("consent_id", "logged_user_document")
        )
        for consent_id in consent_ids:
            consent_authorise(consent_id=consent_id, debtor_account=accounts[owners[consent_id]], actor="bench")
            tokens.append(
                access_token_mint(
                    client=self.client,
                    grant_type="authorization_code",
                    scopes=["openid", "payments", f"consent:{consent_id}"],
                    consent_id=consent_id,
                    ttl_seconds=3600,
                )
            )
        return tokens

    def create_payment_request(self, path: str, token: str) -> PreparedRequest:
        item = {
            "endToEndId": end_to_end_id(),
            "localInstrument": "MANU",
            "payment": {"amount": "1.00", "currency": "BRL"},
            "creditorAccount": CREDITOR,
            "cnpjInitiator": "11222333000181",
        }
        return PreparedRequest("POST", path, self._headers(token, body=True), self._signed(path, {"data": [item]}))

    def get_request(self, path: str) -> PreparedRequest:
        return PreparedRequest("GET", path, self._headers(self.token, body=False))

    def decode(self, body: bytes) -> dict[str, Any]:
        jwk = holder_public_jwks()["keys"][0]
        claims: dict[str, Any] = jwt.decode(
            body, jwt.PyJWK(jwk).key, algorithms=["PS256"], audience=self.client.organisation_id
        )
        return claims
