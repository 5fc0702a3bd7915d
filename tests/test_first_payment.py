"""The README's first payment (`make first-payment` = manage.py first_payment) against a live server, and the
helper commands' one-sentence answers when a terminal points at something other than the running platform."""

import io
import json
import re
import shutil
import socket

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import CommandError, call_command

from opusof.demo_tpp import PlatformMismatch, fill_placeholders
from opusof.timeutil import business_date
from payments.models import PaymentStatus, PixPayment

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo_tpp_dir(settings, tmp_path):
    """load_demo's demo TPP, its keys in a folder of this test's own."""
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=io.StringIO())
    return tmp_path / "demo-tpp"


def test_first_payment_end_to_end(live_server, demo_tpp_dir):
    out = io.StringIO()
    call_command("first_payment", base_url=live_server.url, client_dir=str(demo_tpp_dir), stdout=out)
    printed = out.getvalue()

    steps = re.findall(r"^(\d)/7 ", printed, flags=re.MULTILINE)
    assert steps == [str(n) for n in range(1, 8)], printed
    payment_id = re.search(r"payment initiated with that token\s+(\S+) (\w+)", printed)
    assert payment_id, printed
    payment = PixPayment.objects.select_related("consent").get(payment_id=payment_id.group(1))
    assert payment.status == PaymentStatus.ACSC
    assert payment.consent.status == "CONSUMED"
    assert payment.consent.payment_date == business_date()  # {{TODAY}} filled in
    # the payment was made with the token the code exchange obtained, bound to this consent
    saved = json.loads(next((demo_tpp_dir / "tokens").iterdir()).read_text())
    assert saved["consent_id"] == payment.consent.consent_id
    assert f"consent:{payment.consent.consent_id}" in saved["scope"]
    assert "7/7 status" in printed and "payment ACSC, consent CONSUMED" in printed
    assert f"{live_server.url}/admin/payments/pixpayment/?q={payment.payment_id}" in printed


def test_tpp_request_uses_the_token_tpp_authorize_obtained(live_server, demo_tpp_dir):
    with pytest.raises(CommandError, match="No valid token for consent urn:x: run `tpp_authorize start`"):
        call_command(
            "tpp_request",
            "GET",
            "/open-banking/payments/v4/consents/urn:x",
            consent="urn:x",
            base_url=live_server.url,
            client_dir=str(demo_tpp_dir),
        )


def test_no_server_at_the_base_url_is_one_sentence(demo_tpp_dir):
    url = f"http://127.0.0.1:{closed_port()}"
    for command in ("first_payment", "tpp_request"):
        args = ["GET", "/open-banking/payments/v4/consents/x"] if command == "tpp_request" else []
        with pytest.raises(PlatformMismatch) as refused:
            call_command(command, *args, base_url=url, client_dir=str(demo_tpp_dir))
        message = str(refused.value)
        assert message.startswith(f"No server answers at {url}")
        assert "make run" in message and "\n" not in message


def test_a_platform_on_another_database_is_named_not_a_401(live_server, demo_tpp_dir, tmp_path):
    """The running platform does not know this terminal's demo TPP key: what another database or var/ looks like."""
    other = tmp_path / "other-demo-tpp"
    shutil.copytree(demo_tpp_dir, other)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (other / "private-key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with pytest.raises(PlatformMismatch) as refused:
        call_command(
            "tpp_request",
            "GET",
            "/open-banking/payments/v4/consents/x",
            base_url=live_server.url,
            client_dir=str(other),
        )
    message = str(refused.value)
    assert message.startswith(f"The platform at {live_server.url} does not know the demo TPP opusof-demo-tpp")
    assert "another database or var/ directory" in message and "\n" not in message


def test_a_token_minted_in_another_database_is_named_not_a_401(live_server, demo_tpp_dir, monkeypatch):
    """--mint writes the token into this terminal's database; a platform on another one has never seen it."""
    monkeypatch.setattr(
        "opusof.management.commands.tpp_request.access_token_mint", lambda **kwargs: "minted-in-another-database"
    )
    with pytest.raises(PlatformMismatch) as refused:
        call_command(
            "tpp_request",
            "GET",
            "/open-banking/payments/v4/consents/urn:x",
            consent="urn:x",
            mint=True,
            base_url=live_server.url,
            client_dir=str(demo_tpp_dir),
        )
    assert str(refused.value).startswith(
        f"The platform at {live_server.url} does not know the token minted in this terminal's database"
    )


def test_a_server_that_is_not_opusof(demo_tpp_dir):
    from tests.support.browser import local_http_server, static_page_handler

    with (
        local_http_server(static_page_handler(b"<html>hello</html>")) as port,
        pytest.raises(PlatformMismatch, match="is not opusof"),
    ):
        call_command("first_payment", base_url=f"http://127.0.0.1:{port}", client_dir=str(demo_tpp_dir))


def test_example_bodies_are_filled_in():
    filled = fill_placeholders('{"date": "{{TODAY}}", "e2e": "{{END_TO_END_ID}}"}', ispb="12345678")
    body = json.loads(filled)
    assert body["date"] == business_date().isoformat()
    assert re.fullmatch(r"E12345678\d{12}[A-Za-z0-9]{11}", body["e2e"])
    assert body["e2e"] != json.loads(fill_placeholders('{"e2e": "{{END_TO_END_ID}}"}', ispb="12345678"))["e2e"]
