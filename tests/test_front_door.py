"""What a newcomer opens first: the index page, the API base paths, the startup banner and the README naming the
same addresses; and the admin's entry page (pt-BR, product header, today's counts, payments needing attention)."""

import datetime as dt
import io
import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import Client
from django.utils import timezone

from opusof.home import ADDRESSES
from opusof.management.commands.run_platform import Command as RunPlatform
from opusof.supervisor import Supervisor
from opusof.timeutil import business_tz
from payments.models import PaymentPollState, PixPayment
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item

ROOT = Path(settings.BASE_DIR)
pytestmark = pytest.mark.django_db


def test_index_page_links_the_docs_the_customer_area_and_the_admin(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="pt-BR">' in html
    hrefs = set(re.findall(r'href="([^"]+)"', html))
    assert {"/api/docs/", "/api/redoc/", "/minhas-autorizacoes/", "/admin/"} <= hrefs
    assert settings.OPUSOF_BANK_NAME in html and settings.OPUSOF_ISPB in html
    assert "Documentação das APIs" in html and "Administração" in html
    assert "admin / admin" in html  # the demo logins, where the sandbox runs


def test_index_page_names_no_demo_login_outside_the_sandbox(client: Client, settings) -> None:
    settings.OPUSOF_SANDBOX_SCENARIOS = False
    html = client.get("/").content.decode()
    assert "/admin/" in html and "admin / admin" not in html and "demo1234" not in html


def test_banner_index_and_readme_name_the_same_addresses() -> None:
    out = io.StringIO()
    command = RunPlatform(stdout=out)
    command._print_urls("http://127.0.0.1:8000", "gunicorn", Supervisor([], env={}, cwd=ROOT))
    banner = out.getvalue()
    readme = (ROOT / "README.md").read_text()
    readme_paths = set(re.findall(r"`(/[^`\s]*)`", readme))
    for address in ADDRESSES:
        assert f"http://127.0.0.1:8000{address.path}" in banner, address.path
        assert address.path in readme_paths, f"README does not list {address.path}"
    assert "database" in banner and "broker" in banner and "base URL" in banner
    assert "make first-payment" in banner


@pytest.mark.parametrize(
    ("base", "spec"),
    [
        ("/open-banking/payments/v4/", "payments-4.0.0.yml"),
        ("/open-banking/automatic-payments/v2/", "automatic-payments-2.0.0.yml"),
        ("/open-banking/enrollments/v2/", "enrollments-2.1.0.yml"),
    ],
)
def test_api_base_paths_answer_json_listing_the_specs_operations(client: Client, base: str, spec: str) -> None:
    response = client.get(base)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["specification"] == f"specs/ofb/{spec}"
    documented = yaml.load((ROOT / "specs" / "ofb" / spec).read_text(), Loader=yaml.CSafeLoader)["paths"]
    served = {op["path"].removeprefix(base.rstrip("/")): set(op["methods"]) for op in body["operations"]}
    assert served == {
        path: {m.upper() for m in ops if m in {"get", "post", "patch", "put", "delete"}}
        for path, ops in documented.items()
    }


def test_admin_entry_page_is_ptbr_with_the_products_name_and_todays_counts(admin_client: Client, v4) -> None:
    data = consent_data(amount="1336.00")  # the sandbox settles this amount at once
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    assert response.status_code == 201, body
    stuck = PixPayment.objects.get(payment_id=body["data"][0]["paymentId"])
    PaymentPollState.objects.create(payment=stuck, attempts=12, next_poll_at=timezone.now(), needs_attention=True)

    page = admin_client.get("/admin/")

    html = page.content.decode()
    assert "opusof · administração Open Finance" in html
    assert 'href="/"' in html  # "Ver o site" lands on the index page
    assert "Ver o site" in html and "Painel do dia" in html
    found = re.search(r'<tbody id="payments-today">(.*?)</tbody>', html, re.S)
    assert found is not None
    payments_rows = found.group(1)
    assert re.search(r'data-status="ACSC"><th scope="row">Pago \(ACSC\)</th><td><a [^>]*>1</a>', payments_rows)
    assert re.search(r'data-status="SCHD"><th scope="row">Agendado \(SCHD\)</th><td><a [^>]*>0</a>', payments_rows)
    link = re.search(r'data-status="ACSC"><th scope="row">[^<]*</th><td><a href="([^"]+)"', payments_rows)
    assert link is not None
    listed = admin_client.get(link.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200 and stuck.payment_id in listed.content.decode()
    assert "1 pagamento Pix" in listed.content.decode()
    found = re.search(r'<table style="width:100%" id="attention">(.*?)</table>', html, re.S)
    assert found is not None
    attention = found.group(1)
    assert stuck.payment_id in attention and "12 consultas" in attention
    assert "Pagamentos Pix" in html and "Consentimentos de pagamento" in html
    assert "settingss" not in html and "Autenticações de clientes" in html


def test_admin_lists_show_ptbr_status_labels_and_brasilia_times(admin_client: Client, v4) -> None:
    data = consent_data(amount="1336.00")
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data)])
    payment = PixPayment.objects.get(payment_id=body["data"][0]["paymentId"])

    html = admin_client.get("/admin/payments/pixpayment/").content.decode()

    assert "Pago (ACSC)" in html and "Acsc" not in html
    assert ">situação<" in html.lower() or "Situação" in html
    local = payment.created_at.astimezone(business_tz())
    utc = payment.created_at.astimezone(dt.UTC)
    assert local.strftime("%H:%M") in html
    if local.strftime("%H:%M") != utc.strftime("%H:%M"):
        assert f"{utc:%H:%M}" not in html.split("<tbody>")[1]
    stored = PixPayment.objects.filter(pk=payment.pk).values_list("created_at", flat=True).get()
    assert stored.utcoffset() == dt.timedelta(0)  # the database keeps UTC


def test_docs_pages_name_no_other_host(client: Client) -> None:
    for url in ("/api/docs/", "/api/redoc/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "default-src 'self'" in response["Content-Security-Policy"]
        assert not re.search(rb"(src|href)=\"https?://", response.content), url
    bundle = client.get("/api/redoc-dist/bundles/redoc.standalone.js").content
    assert len(bundle) > 100_000 and b"cdn.redoc.ly" not in bundle
