import pytest
from django.urls import reverse

from connectors.sandbox.demo import load_sandbox_demo

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "query", "expected", "absent"),
    [
        ("sandboxcustomer", "q=12345678909", "Ana Souza", "Bruno Lima"),
        ("sandboxcustomer", "kind__exact=BUSINESS", "Padaria Pao Quente Ltda", "Ana Souza"),
        ("sandboxaccount", "q=98765432100", "20000001", "10000001"),
        ("sandboxaccount", "may_pay__exact=0", "10000003", "10000001"),
        ("sandboxpixkey", "key_type__exact=EVP", "7d9f0335-8dcc-4054-9bf9-0dbd61d36906", "loja@example.com"),
        ("sandboxqrcode", "kind__exact=DYNAMIC", "DEMODYNAMIC00000000000000001", "DEMOSTATIC0001"),
        ("sandboxpayment", "status__exact=ACSC", "0 pagamentos no banco sandbox", "pay-"),
        ("sandboxledgerentry", "direction__exact=DEBIT", "0 lançamentos do banco sandbox", "DEBIT 1"),
    ],
)
def test_admin_changelists_search_and_filter(admin_client, model, query, expected, absent):
    load_sandbox_demo()
    response = admin_client.get(f"{reverse(f'admin:connectors_{model}_changelist')}?{query}")
    assert response.status_code == 200
    page = response.content.decode()
    assert expected in page
    assert absent not in page


def test_payments_and_ledger_are_read_only(admin_client):
    assert admin_client.get(reverse("admin:connectors_sandboxpayment_add")).status_code == 403
    assert admin_client.get(reverse("admin:connectors_sandboxledgerentry_add")).status_code == 403
