"""The holder signing key: created once (race-safe, 0600), cached, published as a JWKS with an RFC 7638 kid."""

import stat
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from opusof.jose import sign_payload
from opusof.keys import holder_kid, holder_private_key, holder_public_jwks, jwk_thumbprint, load_or_create_private_key

ROOT = Path(__file__).resolve().parents[2]


def test_rfc7638_thumbprint_example():
    # RFC 7638 section 3.1
    jwk = {
        "kty": "RSA",
        "e": "AQAB",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
        "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0z"
        "gdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
        "kEgU8awapJzKnqDKgw",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_missing_key_is_created_private_and_reused(tmp_path):
    path = tmp_path / "keys" / "holder.pem"

    first = load_or_create_private_key(path, autocreate=True)
    second = load_or_create_private_key(path, autocreate=True)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.key_size == 2048
    assert first.private_numbers() == second.private_numbers()
    assert [p.name for p in path.parent.iterdir()] == ["holder.pem"]  # no temporary file left behind


def test_missing_key_without_autocreate_refuses_to_start(tmp_path):
    with pytest.raises(ImproperlyConfigured):
        load_or_create_private_key(tmp_path / "absent.pem", autocreate=False)


def test_concurrent_processes_end_with_one_key(tmp_path):
    path = tmp_path / "race" / "holder.pem"
    script = (
        "import sys; from pathlib import Path; from opusof.keys import load_or_create_private_key; "
        "print(load_or_create_private_key(Path(sys.argv[1]), autocreate=True).public_key().public_numbers().n)"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    moduli = {process.communicate(timeout=60)[0].strip() for process in processes}

    assert all(process.returncode == 0 for process in processes)
    assert len(moduli) == 1
    assert moduli == {str(load_or_create_private_key(path, autocreate=False).public_key().public_numbers().n)}


def test_holder_key_is_cached_per_process():
    assert holder_private_key() is holder_private_key()


def test_kid_is_the_thumbprint_unless_configured():
    jwk = holder_public_jwks()["keys"][0]
    assert holder_kid() == jwk_thumbprint(jwk) == jwk["kid"]

    with override_settings(OPUSOF_SIGNING_KEY_ID="holder-2026"):
        assert holder_kid() == "holder-2026"
        assert holder_public_jwks()["keys"][0]["kid"] == "holder-2026"


def test_published_jwks_verifies_our_signatures_and_holds_no_private_part(client):
    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    jwks = response.json()
    (jwk,) = jwks["keys"]
    assert set(jwk) == {"kty", "n", "e", "kid", "use", "alg"}
    assert (jwk["use"], jwk["alg"]) == ("sig", "PS256")
    token = sign_payload({"data": {"ok": True}}, audience="org-1")
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["PS256"], audience="org-1")
    assert claims["data"] == {"ok": True}
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]
