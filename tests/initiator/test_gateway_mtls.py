"""Mutual TLS to a holder that requires it (OPUSOF_MTLS_REQUIRED at our holder, behind a TLS terminator): the
gateway presents the configured transport certificate on every call, and the holder's tokens are bound to it."""

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from initiator.fapi import client as fapi_client
from initiator.models import HolderRegistration
from opusof.models import AccessToken
from tests.initiator.conftest import Gateway, make_application
from tests.initiator.holder_proxy import HolderProxy, holder_proxy
from tests.initiator.pki import make_pki
from tests.support.payment_bodies import consent_data, payment_item

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mtls_gateway(
    live_server: Any, settings: Any, demo_bank: dict[str, Any], tmp_path
) -> Iterator[tuple[Gateway, HolderProxy]]:
    pki = make_pki(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    tls.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    tls.verify_mode = ssl.CERT_OPTIONAL  # the customer's browser has no certificate; the holder decides per endpoint
    fapi_client._tls_context.cache_clear()
    with holder_proxy(live_server.url, tls=tls) as proxy:
        settings.OPUSOF_BASE_URL = proxy.url
        settings.OPUSOF_MTLS_REQUIRED = True
        settings.INITIATOR_BASE_URL = live_server.url
        settings.INITIATOR_CA_BUNDLE = str(pki.ca)
        settings.INITIATOR_MTLS_CERT_PATH = str(pki.client_cert)
        settings.INITIATOR_MTLS_KEY_PATH = str(pki.client_key)
        from initiator.services.participants import participants_refresh

        participants_refresh(source="")
        application, credential = make_application(live_server.url, "app-mtls")
        with httpx.Client(base_url=live_server.url, timeout=60) as http:
            gateway = Gateway(http=http, application=application, credential=credential, holder_url=proxy.url)
            gateway.customer = httpx.Client(
                base_url=proxy.url, timeout=30, verify=ssl.create_default_context(cafile=str(pki.ca))
            )
            yield gateway, proxy
    fapi_client._tls_context.cache_clear()


def test_payment_over_mutual_tls_with_certificate_bound_tokens(mtls_gateway: tuple[Gateway, HolderProxy]):
    gateway, _ = mtls_gateway
    data = consent_data(amount="61.00")
    consent_id = gateway.authorise(data)
    paid = gateway.pay(consent_id, [payment_item(data)], key="mtls-1")
    assert paid.status_code == 201, paid.text
    client_id = HolderRegistration.objects.get().client_id
    tokens = AccessToken.objects.filter(client__client_id=client_id)
    assert tokens.count() >= 2  # client_credentials and the consent's authorization_code token
    assert all(token.cert_thumbprint for token in tokens)


def test_without_the_transport_certificate_the_holder_refuses(mtls_gateway: tuple[Gateway, HolderProxy], settings):
    gateway, _ = mtls_gateway
    settings.INITIATOR_MTLS_CERT_PATH = ""
    settings.INITIATOR_MTLS_KEY_PATH = ""
    refused = gateway.create_consent(consent_data())
    assert refused.status_code == 502, refused.text
    assert refused.headers["x-origin-error"] == "participant"
    assert "invalid_client" in refused.json()["errors"][0]["detail"]
