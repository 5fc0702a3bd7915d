"""A code exchanged by many requests at once issues exactly one token set (row lock on the code)."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections

from opusof.authserver.models import RefreshToken
from opusof.models import AccessToken
from tests.support.oauth_tpp import OAuthTpp, customer_decides, fragment
from tests.support.payment_bodies import ANA_CPF, consent_data
from tests.support.payments_v4 import PaymentsV4


@pytest.mark.django_db(transaction=True)
def test_parallel_code_exchange_issues_once(tpp, demo_bank):
    # each request closes its own thread's connection (plain WSGI handler, committed data)
    http = httpx.Client(transport=httpx.WSGITransport(app=WSGIHandler()), base_url="http://testserver")
    oauth = OAuthTpp(actor=tpp, http=http)
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    flow = oauth.start(v4.create_consent(consent_data()))
    response = customer_decides(
        http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="approve", account="10000001"
    )
    code = fragment(response.headers["location"])["code"]

    def exchange(_: int) -> int:
        try:
            return oauth.exchange(code, flow).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(exchange, range(8)))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(400) == 7, statuses
    # the replays revoked what the one success issued
    issued = AccessToken.objects.filter(grant_type="authorization_code")
    assert issued.count() == 1
    assert issued.get().revoked_at is not None
    assert RefreshToken.objects.get().revoked_at is not None
