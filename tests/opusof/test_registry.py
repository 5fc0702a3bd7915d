"""Access tokens, the TPP registry service, the register_client command and the staff admin pages."""

import datetime as dt
import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from opusof.models import AccessToken, IdempotencyRecord, TppClient
from opusof.services import idempotency_records_purge, tpp_client_register, tpp_client_set_status
from opusof.tokens import access_token_mint, access_token_resolve, access_token_revoke, token_hash
from tests.factories.holder import IdempotencyRecordFactory
from tests.support.tpp import jwks_of

pytestmark = pytest.mark.django_db


# --- Tokens ---------------------------------------------------------------------------------------------------------


def test_only_the_hash_of_a_token_is_stored(tpp):
    raw = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["payments"])

    stored = AccessToken.objects.get()
    assert len(raw) >= 43
    assert stored.token_hash == token_hash(raw) != raw
    assert raw not in json.dumps(list(AccessToken.objects.values()), default=str)


def test_resolve_is_one_query_and_returns_the_client(tpp, django_assert_num_queries):
    raw = access_token_mint(
        client=tpp.client, grant_type="authorization_code", scopes=["openid", "payments"], consent_id="urn:x:1"
    )

    with django_assert_num_queries(1):
        token = access_token_resolve(raw)
        assert token is not None
        assert token.client.organisation_id == tpp.client.organisation_id
    assert (token.grant_type, token.consent_id, token.scopes) == (
        "authorization_code",
        "urn:x:1",
        ["openid", "payments"],
    )


def test_dead_tokens_do_not_resolve(tpp, other_tpp):
    expired = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=[], ttl_seconds=-1)
    revoked = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=[])
    disabled = access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=[])
    token = access_token_resolve(revoked)
    assert token is not None
    access_token_revoke(token=token)
    tpp_client_set_status(client=other_tpp.client, status=TppClient.Status.INACTIVE)

    assert [access_token_resolve(raw) for raw in (expired, revoked, disabled, "", "nope")] == [None] * 5


def test_unknown_grant_type_is_refused(tpp):
    with pytest.raises(ValueError):
        access_token_mint(client=tpp.client, grant_type="password", scopes=[])


# --- Registry service -----------------------------------------------------------------------------------------------


def test_register_updates_by_client_id(rsa_keys):
    first = tpp_client_register(client_id="c1", organisation_id="org-1", name="One", jwks=jwks_of(rsa_keys[0]))
    second = tpp_client_register(
        client_id="c1", organisation_id="org-1", name="One renamed", jwks_uri="https://keystore.example.com/org-1.jwks"
    )

    assert first.pk == second.pk
    second.refresh_from_db()
    assert (second.name, second.jwks, second.jwks_uri) == (
        "One renamed",
        None,
        "https://keystore.example.com/org-1.jwks",
    )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({}, "exactly one"),
        ({"jwks_uri": "https://k.example.com/j", "jwks": "KEYS"}, "exactly one"),
        ({"jwks": {"keys": []}}, "no RSA signing key"),
        ({"jwks": "PRIVATE"}, "private key material"),
        ({"jwks": "KEYS", "redirect_uris": ["not a uri"]}, "invalid URI"),
        ({"jwks": "KEYS", "status": "GONE"}, "one of"),
    ],
)
def test_register_refuses_bad_registrations(fields, problem, rsa_keys):
    from cryptography.hazmat.primitives import serialization
    from jwt.algorithms import RSAAlgorithm

    public = jwks_of(rsa_keys[0])
    private = RSAAlgorithm.to_jwk(rsa_keys[0], as_dict=True)
    substitutes = {"KEYS": public, "PRIVATE": {"keys": [{**private, "kid": "k", "use": "sig"}]}}
    fields = {
        name: substitutes.get(value, value) if isinstance(value, str) else value for name, value in fields.items()
    }
    assert serialization  # imported for clarity of what "private" means here

    with pytest.raises(ValidationError, match=problem):
        tpp_client_register(client_id="bad", organisation_id="org", name="Bad", **fields)
    assert not TppClient.objects.filter(client_id="bad").exists()


# --- register_client command ----------------------------------------------------------------------------------------


def test_register_client_from_options(tmp_path, rsa_keys):
    jwks_file = tmp_path / "tpp.jwks.json"
    jwks_file.write_text(json.dumps(jwks_of(rsa_keys[0])))

    call_command(
        "register_client",
        "--client-id=cli-1",
        "--organisation-id=org-cli",
        "--name=CLI TPP",
        f"--jwks-file={jwks_file}",
        "--redirect-uri=https://tpp.example.com/cb",
        "--webhook-uri=https://tpp.example.com/hook",
        "--scope=openid",
        "--scope=payments",
        "--role=PAGTO",
    )

    client = TppClient.objects.get(client_id="cli-1")
    assert client.organisation_id == "org-cli"
    assert client.jwks == jwks_of(rsa_keys[0])
    assert client.redirect_uris == ["https://tpp.example.com/cb"]
    assert client.webhook_uris == ["https://tpp.example.com/hook"]
    assert client.scopes == ["openid", "payments"]
    assert client.roles == ["PAGTO"]


def test_register_client_from_json_then_options_win(tmp_path):
    document = {
        "clientId": "cli-2",
        "organisationId": "org-json",
        "name": "JSON TPP",
        "jwksUri": "https://keystore.example.com/org-json.jwks",
        "redirectUris": ["https://tpp.example.com/cb"],
        "softwareStatementId": "ss-1",
    }
    path = tmp_path / "client.json"
    path.write_text(json.dumps(document))

    call_command("register_client", f"--from-json={path}")
    call_command("register_client", f"--from-json={path}", "--name=Renamed", "--status=INACTIVE")

    client = TppClient.objects.get(client_id="cli-2")
    assert (client.name, client.status, client.software_statement_id) == ("Renamed", "INACTIVE", "ss-1")
    assert client.jwks_uri == "https://keystore.example.com/org-json.jwks"
    assert TppClient.objects.count() == 1


def test_register_client_reports_invalid_input(tmp_path):
    with pytest.raises(CommandError, match="exactly one"):
        call_command("register_client", "--client-id=x", "--organisation-id=o", "--name=n")
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    with pytest.raises(CommandError, match="JSON object"):
        call_command("register_client", f"--from-json={bad}")


# --- Idempotency housekeeping ---------------------------------------------------------------------------------------


def test_purge_deletes_only_expired_records(tpp):
    now = timezone.now()
    for key, expires in (("old", now - dt.timedelta(seconds=1)), ("live", now + dt.timedelta(hours=1))):
        IdempotencyRecordFactory(client=tpp.client, key=key, expires_at=expires)

    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["live"]


# --- Admin ----------------------------------------------------------------------------------------------------------


def test_admin_pages_load(admin_client, tpp, client_credentials_token):
    IdempotencyRecordFactory(client=tpp.client, expires_at=timezone.now())
    token = AccessToken.objects.get()
    record = IdempotencyRecord.objects.get()
    pages = [
        "/admin/opusof/tppclient/",
        f"/admin/opusof/tppclient/?q={tpp.client.organisation_id}",
        "/admin/opusof/tppclient/?status__exact=ACTIVE",
        "/admin/opusof/tppclient/add/",
        f"/admin/opusof/tppclient/{tpp.client.pk}/change/",
        "/admin/opusof/accesstoken/",
        f"/admin/opusof/accesstoken/{token.pk}/change/",
        "/admin/opusof/idempotencyrecord/",
        f"/admin/opusof/idempotencyrecord/{record.pk}/change/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
    token_page = admin_client.get(f"/admin/opusof/accesstoken/{token.pk}/change/").content.decode()
    assert token.token_hash not in token_page
    assert client_credentials_token not in token_page
    assert admin_client.get("/admin/opusof/accesstoken/add/").status_code == 403


def test_admin_disable_and_enable_actions(admin_client, tpp, client_credentials_token):
    url = "/admin/opusof/tppclient/"
    admin_client.post(url, {"action": "disable_clients", "_selected_action": [tpp.client.pk]})
    assert TppClient.objects.get(pk=tpp.client.pk).status == "INACTIVE"
    assert access_token_resolve(client_credentials_token) is None

    admin_client.post(url, {"action": "enable_clients", "_selected_action": [tpp.client.pk]})
    assert TppClient.objects.get(pk=tpp.client.pk).status == "ACTIVE"
    assert access_token_resolve(client_credentials_token) is not None


def test_admin_add_goes_through_the_service_and_validates(admin_client, rsa_keys):
    form = {
        "client_id": f"admin-{uuid.uuid4().hex[:6]}",
        "organisation_id": "org-admin",
        "name": "Admin TPP",
        "organisation_name": "",
        "software_statement_id": "",
        "redirect_uris": '["https://tpp.example.com/cb"]',
        "webhook_uris": "[]",
        "jwks": json.dumps(jwks_of(rsa_keys[0])),
        "jwks_uri": "",
        "scopes": '["payments"]',
        "roles": "[]",
        "status": "ACTIVE",
    }
    created = admin_client.post("/admin/opusof/tppclient/add/", form)
    invalid = admin_client.post(
        "/admin/opusof/tppclient/add/", {**form, "client_id": "admin-bad", "jwks": '{"keys": []}'}
    )

    assert created.status_code == 302
    client = TppClient.objects.get(client_id=form["client_id"])
    assert client.redirect_uris == ["https://tpp.example.com/cb"]
    assert invalid.status_code == 200  # the form again, with the error
    assert "no RSA signing key" in invalid.content.decode()
    assert not TppClient.objects.filter(client_id="admin-bad").exists()

    changed = admin_client.post(
        f"/admin/opusof/tppclient/{client.pk}/change/", {**form, "client_id": "ignored", "name": "Renamed"}
    )
    assert changed.status_code == 302
    client.refresh_from_db()
    assert (client.client_id, client.name) == (form["client_id"], "Renamed")
    assert TppClient.objects.count() == 1


def test_admin_revoke_tokens_action(admin_client, tpp, client_credentials_token):
    token = AccessToken.objects.get()
    admin_client.post("/admin/opusof/accesstoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]})

    assert access_token_resolve(client_credentials_token) is None
