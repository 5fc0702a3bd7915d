"""Webhooks over mutual TLS (OFB webhook convention): the TPP's server is verified against the configured CA, and
our client certificate is presented; without it the TPP's server refuses the handshake and the attempt retries."""

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opusof.outbox.models import AttemptOutcome, OutboxEvent
from opusof.outbox.services import webhook_deliver
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own
from tests.support.webhook_receiver import WebhookReceiver, serve


def _cert(
    name: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, *, ca=False
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    cert_path, key_path = path.with_suffix(".crt"), path.with_suffix(".key")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, str]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("test directory CA", ca_key, None, ca=True)
    ca_path, _ = _write(tmp_path / "ca", ca, ca_key)
    files = {"ca": ca_path}
    for name in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        files[f"{name}_cert"], files[f"{name}_key"] = _write(
            tmp_path / name, _cert(f"opusof-{name}", key, (ca.subject, ca_key)), key
        )
    return files


@pytest.fixture
def tls_receiver(pki: dict[str, str]) -> Iterator[WebhookReceiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["server_cert"], pki["server_key"])
    context.load_verify_locations(pki["ca"])
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no client certificate, no connection
    yield from serve(WebhookReceiver(), tls=context)


@pytest.fixture
def event(v4, tls_receiver: WebhookReceiver) -> OutboxEvent:
    v4.tpp.client.webhook_uris = [tls_receiver.base_url]
    v4.tpp.client.save(update_fields=["webhook_uris"])
    v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    return OutboxEvent.objects.get()


def test_webhook_is_sent_over_mutual_tls(event, tls_receiver, pki, settings):
    settings.OPUSOF_WEBHOOK_CA_BUNDLE = pki["ca"]
    settings.OPUSOF_WEBHOOK_CLIENT_CERT_PATH = pki["client_cert"]
    settings.OPUSOF_WEBHOOK_CLIENT_KEY_PATH = pki["client_key"]

    result = webhook_deliver(event_id=str(event.pk))

    assert result is not None and result.outcome == AttemptOutcome.DELIVERED
    assert tls_receiver.client_subjects == [{"commonName": "opusof-client"}]


def test_without_our_client_certificate_the_handshake_fails_and_is_retried(event, tls_receiver, pki, settings):
    settings.OPUSOF_WEBHOOK_CA_BUNDLE = pki["ca"]
    settings.OPUSOF_WEBHOOK_CLIENT_CERT_PATH = ""

    result = webhook_deliver(event_id=str(event.pk))

    assert result is not None and result.outcome == AttemptOutcome.RETRY and result.status_code is None
    assert tls_receiver.received == []


def test_an_unknown_server_certificate_is_refused(event, tls_receiver, pki, settings):
    settings.OPUSOF_WEBHOOK_CA_BUNDLE = ""  # the system's CAs do not know the test directory's CA
    settings.OPUSOF_WEBHOOK_CLIENT_CERT_PATH = pki["client_cert"]
    settings.OPUSOF_WEBHOOK_CLIENT_KEY_PATH = pki["client_key"]

    result = webhook_deliver(event_id=str(event.pk))

    assert result is not None and result.outcome == AttemptOutcome.RETRY
    assert "CERTIFICATE_VERIFY_FAILED" in OutboxEvent.objects.get().last_error
    assert tls_receiver.received == []
