"""A first Pix payment end to end against the running platform, every step printed (README, `make first-payment`):

1. the demo TPP creates a payments v4 consent (docs/examples/payments-v4/consent.json, today's date filled in);
2. it pushes the authorisation request (PAR);
3. the demo customer Ana Souza logs in on the consent page, picks her current account and approves;
4. the TPP exchanges the code for the consent-bound access token;
5. it pays with that very token (docs/examples/payments-v4/pix-payment.json, a fresh endToEndId);
6. it reads the payment's and the consent's status back;
7. it names the admin page where staff see the payment and its history.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opusof.demo_tpp import Answer, DemoTpp, read_body

EXAMPLES = Path(settings.BASE_DIR) / "docs" / "examples" / "payments-v4"
DEMO_CUSTOMER_CPF = "12345678909"
DEMO_CUSTOMER_PASSWORD = "demo1234"  # connectors/sandbox/demo.py
DEMO_CUSTOMER_ACCOUNT = "10000001"
PAYMENTS = "/open-banking/payments/v4"


class Command(BaseCommand):
    help = "Makes a first payment against the running platform: consent, approval, payment, status, admin link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default=settings.OPUSOF_BASE_URL, help="where the platform answers")
        parser.add_argument("--client-dir", default=str(Path(settings.VAR_DIR) / "demo-tpp"))

    def handle(self, *args: Any, **options: Any) -> None:
        tpp = DemoTpp.load(Path(options["client_dir"]), options["base_url"])
        health = tpp.check_platform()
        self._step(1, "platform", f"{tpp.base_url} answers /health: {health['status']}")

        created = self._expect(
            tpp.request(
                "POST",
                f"{PAYMENTS}/consents",
                token=tpp.client_credentials(),
                body=read_body(f"@{EXAMPLES / 'consent.json'}"),
            ),
            201,
            "consent",
        )
        consent_id = created["data"]["consentId"]
        payment = created["data"]["payment"]
        self._step(
            2,
            "consent created",
            f"{consent_id} {created['data']['status']} · R$ {payment['amount']} on {payment['date']} to "
            f"{created['data']['creditor']['name']}",
        )

        authorize_url = tpp.start(consent_id)
        self._step(3, "authorisation pushed (PAR)", f"the customer's browser would open {authorize_url}")

        callback = tpp.approve_as_customer(
            authorize_url, cpf=DEMO_CUSTOMER_CPF, password=DEMO_CUSTOMER_PASSWORD, account=DEMO_CUSTOMER_ACCOUNT
        )
        self._step(
            4,
            "customer approved",
            f"Ana Souza (CPF {DEMO_CUSTOMER_CPF}) approved from account {DEMO_CUSTOMER_ACCOUNT}; back at "
            f"{callback.split('#', 1)[0]}#code=…",
        )

        tokens = tpp.finish(callback)
        token = tokens["access_token"]
        self._step(5, "token obtained", f"scope '{tokens.get('scope', '')}', expires in {tokens['expires_in']} s")

        paid = self._expect(
            tpp.request(
                "POST", f"{PAYMENTS}/pix/payments", token=token, body=read_body(f"@{EXAMPLES / 'pix-payment.json'}")
            ),
            201,
            "payment",
        )
        item = paid["data"][0]
        payment_id = item["paymentId"]
        self._step(6, "payment initiated with that token", f"{payment_id} {item['status']} ({item['endToEndId']})")

        reader = tpp.client_credentials()
        fetched = self._expect(tpp.request("GET", f"{PAYMENTS}/pix/payments/{payment_id}", token=reader), 200, "status")
        consent = self._expect(tpp.request("GET", f"{PAYMENTS}/consents/{consent_id}", token=reader), 200, "consent")
        self._step(
            7,
            "status",
            f"payment {fetched['data']['status']}, consent {consent['data']['status']}",
        )
        self.stdout.write(
            f"\nSee it in the admin (admin / admin): {tpp.base_url}/admin/payments/pixpayment/?q={payment_id}\n"
            f"and as the customer (CPF {DEMO_CUSTOMER_CPF} / {DEMO_CUSTOMER_PASSWORD}): "
            f"{tpp.base_url}/minhas-autorizacoes/\n"
        )

    def _step(self, number: int, title: str, detail: str) -> None:
        self.stdout.write(f"{number}/7 {title:<34} {detail}")
        self.stdout.flush()

    @staticmethod
    def _expect(answer: Answer, status: int, what: str) -> Any:
        if answer.status != status:
            raise CommandError(f"{what}: HTTP {answer.status} {answer.body}")
        return answer.body
