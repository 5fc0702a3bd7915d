"""The cross-cutting API layer end to end, through tiny test-only views: JWS in and out, headers, token, content
types, error bodies and idempotency. Error bodies are checked against payments v4 (POST /consents for the POST
view, GET /consents/{consentId} for the GET view): the error contract is the same for every endpoint."""

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.http.response import HttpResponseBase
from django.test import override_settings
from django.urls import path
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from opusof.api.errors import Forbidden, SiteOverloaded
from opusof.api.idempotency import IDEMPOTENCY_CONFLICT_DETAIL, idempotent
from opusof.api.responses import meta, self_link
from opusof.api.views import OfbApiView
from opusof.errors import ParameterInvalid
from opusof.models import AccessToken, IdempotencyRecord, TppClient
from opusof.tokens import access_token_mint
from tests.support.spec import assert_response_matches_spec, decode_holder_jws
from tests.support.tpp import DROP, TppActor

ECHO = "/open-banking/test/v1/echo"
BOUND = "/open-banking/test/v1/bound"
VALIDATED = "/open-banking/test/v1/validated"


def _effects() -> int:
    return Group.objects.filter(name__startswith="effect-").count()


class EchoCreateApi(OfbApiView):
    """A state-changing POST: its side effect is a Group row, so "exactly once" is countable."""

    idempotency_key_required = True

    @idempotent("test:echo-create")
    def post(self, request: Request) -> Response:
        data = request.data["data"]
        # inner atomic: a failing service rolls back its own half-work, as real services do
        with transaction.atomic():
            effect = Group.objects.create(name=f"effect-{uuid.uuid4()}")
        time.sleep(float(data.get("delay", 0)))
        match data.get("fail"):
            case "regulated":
                raise ParameterInvalid("Parâmetro data.fail não obedece as regras de formatação esperadas.")
            case "unexpected":
                raise RuntimeError("a bug")
            case "overloaded":
                raise SiteOverloaded()
        body = {"data": {"effectId": effect.pk, "echo": data}, "links": self_link(request), "meta": meta()}
        return Response(body, status=201)

    @idempotent("test:echo-patch")
    def patch(self, request: Request) -> Response:
        return Response({"data": request.data["data"], "links": self_link(request), "meta": meta()})

    def delete(self, request: Request) -> Response:
        return Response(status=204)


class EchoDetailApi(OfbApiView):
    def get(self, request: Request, item_id: str) -> Response:
        if item_id == "boom":
            raise RuntimeError("a bug")
        if item_id == "unrenderable":
            return Response({"data": object()})
        client = request.user
        assert isinstance(client, TppClient)
        body = {"data": {"itemId": item_id, "clientId": client.client_id}, "links": self_link(request), "meta": meta()}
        return Response(body)


class ConsentBoundApi(OfbApiView):
    allowed_grant_types = frozenset({"authorization_code"})
    required_scopes = frozenset({"openid", "payments"})
    idempotency_key_required = True

    def post(self, request: Request) -> Response:
        token = request.auth
        assert isinstance(token, AccessToken)
        if request.data["data"].get("consentId") != token.consent_id:
            raise Forbidden("Token não vinculado a este consentimento.")
        return Response({"data": {"consentId": token.consent_id}, "meta": meta()}, status=201)


class _Amount(serializers.Serializer):
    amount = serializers.RegexField(r"^\d{1,16}\.\d{2}$")
    currency = serializers.CharField()


class _Payment(serializers.Serializer):
    payment = _Amount()


class _Body(serializers.Serializer):
    data = _Payment()  # type: ignore[assignment]  # the spec names the body member "data"


class ValidatedApi(OfbApiView):
    def post(self, request: Request) -> Response:
        _Body(data=request.data).is_valid(raise_exception=True)
        return Response({"data": {}, "meta": meta()}, status=201)


urlpatterns = [
    path(ECHO.lstrip("/"), EchoCreateApi.as_view()),
    path(ECHO.lstrip("/") + "/<str:item_id>", EchoDetailApi.as_view()),
    path(BOUND.lstrip("/"), ConsentBoundApi.as_view()),
    path(VALIDATED.lstrip("/"), ValidatedApi.as_view()),
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def assert_error(
    response: HttpResponseBase,
    status: int,
    code: str,
    *,
    spec_path: str = "/consents",
    method: str = "post",
    tpp: TppActor | None = None,
) -> dict[str, Any]:
    """The regulated error: status, code, spec-valid body and media type, interaction id echoed."""
    assert response.status_code == status, getattr(response, "content", b"")
    body = assert_response_matches_spec(response, path=spec_path, method=method)
    if status == 422 and tpp is not None:
        assert tpp.decode(response)["errors"] == body["errors"]  # aud is the caller's organisation
    assert body["errors"][0]["code"] == code, body
    assert response["x-fapi-interaction-id"]
    return body


def assert_nothing_written() -> None:
    assert _effects() == 0
    assert IdempotencyRecord.objects.count() == 0


# --- The happy path -------------------------------------------------------------------------------------------------


def test_valid_signed_request_gets_a_ps256_response_for_the_caller(tpp, client_credentials_token):
    interaction_id = str(uuid.uuid4())
    response = tpp.post(ECHO, {"data": {"value": 1}}, token=client_credentials_token, interaction_id=interaction_id)

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/jwt"
    assert response["x-fapi-interaction-id"] == interaction_id
    header = json.loads(base64.urlsafe_b64decode(response.content.split(b".")[0] + b"=="))
    assert header["alg"] == "PS256" and header["typ"] == "JWT" and header["kid"]
    claims = tpp.decode(response)
    assert claims["iss"] == settings.OPUSOF_ORGANISATION_ID
    assert claims["aud"] == tpp.client.organisation_id
    assert abs(claims["iat"] - time.time()) < 5
    assert uuid.UUID(claims["jti"]).version == 4
    assert claims["data"]["echo"] == {"value": 1}
    assert claims["links"] == {"self": f"{settings.OPUSOF_BASE_URL}{ECHO}"}
    assert set(claims["meta"]) == {"requestDateTime"}
    assert _effects() == 1


def test_get_needs_no_body_and_is_signed(tpp, client_credentials_token):
    response = tpp.get(f"{ECHO}/item-1", token=client_credentials_token)

    assert response.status_code == 200
    assert tpp.decode(response)["data"] == {"itemId": "item-1", "clientId": tpp.client.client_id}


def test_accept_wildcard_and_absent_are_served(tpp, client_credentials_token):
    assert tpp.get(f"{ECHO}/x", token=client_credentials_token, accept="*/*").status_code == 200
    assert tpp.get(f"{ECHO}/x", token=client_credentials_token, accept=None).status_code == 200


# --- Signature: 400 BAD_SIGNATURE (1.2.3) ---------------------------------------------------------------------------


def _none_alg(tpp: TppActor) -> str:
    def b64(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'kid': tpp.kid})}.{b64(tpp.claims_for(ECHO, {'data': {}}))}."


BAD_SIGNATURES: dict[str, Callable[[TppActor, list[rsa.RSAPrivateKey]], dict[str, Any]]] = {
    "not a JWS": lambda tpp, keys: {"raw_body": "not-a-jws"},
    "garbage segments": lambda tpp, keys: {"raw_body": "a.b.c"},
    "empty body": lambda tpp, keys: {"raw_body": ""},
    "unknown kid": lambda tpp, keys: {"kid": "unknown-kid"},
    "signed by another key": lambda tpp, keys: {"sign_with": keys[2]},
    "alg none": lambda tpp, keys: {"raw_body": _none_alg(tpp)},
    "tampered payload": lambda tpp, keys: {
        "raw_body": ".".join(
            (lambda parts: [parts[0], tpp.sign(tpp.claims_for(ECHO, {"data": {"x": 2}})).split(".")[1], parts[2]])(
                tpp.sign(tpp.claims_for(ECHO, {"data": {"x": 1}})).split(".")
            )
        )
    },
}


@pytest.mark.parametrize("case", sorted(BAD_SIGNATURES))
def test_bad_signature_is_400(case, tpp, client_credentials_token, rsa_keys):
    response = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, **BAD_SIGNATURES[case](tpp, rsa_keys))

    assert_error(response, 400, "BAD_SIGNATURE")
    assert_nothing_written()


def test_rs256_is_refused(tpp, client_credentials_token):
    body = tpp.sign(tpp.claims_for(ECHO, {"data": {}}), algorithm="RS256")
    response = tpp.post(ECHO, token=client_credentials_token, raw_body=body)

    assert_error(response, 400, "BAD_SIGNATURE")
    assert_nothing_written()


def test_body_signed_by_tpp_but_sent_with_another_clients_token(tpp, other_tpp):
    token = access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=["payments"])

    response = tpp.post(ECHO, {"data": {}}, token=token)

    # The token says other_tpp; the body is verified with other_tpp's keys, where tpp's kid does not exist.
    assert_error(response, 400, "BAD_SIGNATURE")
    assert_nothing_written()


# --- Claims: 403 INVALID_CLIENT (1.2.4) -----------------------------------------------------------------------------

BAD_CLAIMS: dict[str, dict[str, Any]] = {
    "iat too old": {"iat": lambda: int(time.time()) - 3600},
    "iat in the future": {"iat": lambda: int(time.time()) + 3600},
    "iat missing": {"iat": DROP},
    "iat not a number": {"iat": "yesterday"},
    "aud of another endpoint": {"aud": f"{settings.OPUSOF_BASE_URL}/open-banking/test/v1/other"},
    "aud of the socket address": {"aud": f"http://testserver{ECHO}"},
    "aud missing": {"aud": DROP},
    "iss of another organisation": {"iss": str(uuid.uuid4())},
    "iss missing": {"iss": DROP},
    "jti missing": {"jti": DROP},
    "jti empty": {"jti": ""},
}


@pytest.mark.parametrize("case", sorted(BAD_CLAIMS))
def test_invalid_claims_are_403(case, tpp, client_credentials_token):
    overrides = {name: value() if callable(value) else value for name, value in BAD_CLAIMS[case].items()}

    response = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, override_claims=overrides)

    assert_error(response, 403, "INVALID_CLIENT")
    assert_nothing_written()


def test_iat_within_tolerance_is_accepted(tpp, client_credentials_token):
    iat = int(time.time()) - settings.OPUSOF_JWS_IAT_TOLERANCE_SECONDS + 5
    response = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, override_claims={"iat": iat})

    assert response.status_code == 201


def test_reused_jti_is_403(tpp, client_credentials_token):
    jti = str(uuid.uuid4())
    first = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, override_claims={"jti": jti})
    second = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, override_claims={"jti": jti})

    assert first.status_code == 201
    assert_error(second, 403, "INVALID_CLIENT")
    assert _effects() == 1


def test_a_jti_is_scoped_to_the_organisation(tpp, other_tpp, client_credentials_token):
    jti = str(uuid.uuid4())
    other_token = access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=["payments"])

    first = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, override_claims={"jti": jti})
    second = other_tpp.post(ECHO, {"data": {}}, token=other_token, override_claims={"jti": jti})

    assert (first.status_code, second.status_code) == (201, 201)


def test_claims_that_are_not_a_json_object_are_422(tpp, client_credentials_token):
    # A correctly signed JSON array: sign the raw bytes with PyJWS, as PyJWT refuses non-dict claims.
    import jwt

    array = jwt.PyJWS().encode(b"[1,2]", tpp.key, algorithm="PS256", headers={"kid": tpp.kid, "typ": "JWT"})

    response = tpp.post(ECHO, token=client_credentials_token, raw_body=array)

    assert_error(response, 422, "PARAMETRO_INVALIDO", tpp=tpp)
    assert_nothing_written()


# --- Token: 401 UNAUTHORIZED (1.2.2), grant and scope: 403 -----------------------------------------------------------


def test_missing_token_is_401(tpp):
    response = tpp.post(ECHO, {"data": {}}, token=None)

    body = assert_error(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert body["meta"]["requestDateTime"]
    assert_nothing_written()


@pytest.mark.parametrize("problem", ["unknown", "expired", "revoked", "client disabled", "basic scheme"])
def test_unusable_token_is_401(problem, tpp):
    token = access_token_mint(
        client=tpp.client,
        grant_type="client_credentials",
        scopes=["payments"],
        ttl_seconds=-1 if problem == "expired" else 900,
    )
    headers: dict[str, Any] = {}
    if problem == "unknown":
        token = "x" + token
    elif problem == "revoked":
        AccessToken.objects.update(revoked_at=timezone.now())
    elif problem == "client disabled":
        TppClient.objects.filter(pk=tpp.client.pk).update(status=TppClient.Status.INACTIVE)
    elif problem == "basic scheme":
        headers = {"Authorization": f"Basic {token}"}

    response = tpp.post(ECHO, {"data": {}}, token=token, headers=headers)

    assert_error(response, 401, "UNAUTHORIZED")
    assert_nothing_written()


def test_get_with_expired_token_is_401(tpp):
    token = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["payments"], ttl_seconds=-1)

    assert_error(
        tpp.get(f"{ECHO}/x", token=token), 401, "UNAUTHORIZED", spec_path="/consents/{consentId}", method="get"
    )


def test_authorization_code_token_on_a_client_credentials_endpoint_is_403(tpp, consent_token):
    response = tpp.post(ECHO, {"data": {}}, token=consent_token("urn:opusof:C1"))

    assert_error(response, 403, "FORBIDDEN")
    assert_nothing_written()


def test_client_credentials_token_on_a_consent_bound_endpoint_is_403(tpp, client_credentials_token):
    response = tpp.post(BOUND, {"data": {"consentId": "urn:opusof:C1"}}, token=client_credentials_token)

    assert_error(response, 403, "FORBIDDEN")


def test_token_without_the_required_scope_is_403(tpp):
    token = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["accounts"])

    assert_error(tpp.get(f"{ECHO}/x", token=token), 403, "FORBIDDEN", spec_path="/consents/{consentId}", method="get")


def test_consent_bound_endpoint_with_its_token(tpp, consent_token):
    consent_id = "urn:opusof:C1"

    ok = tpp.post(BOUND, {"data": {"consentId": consent_id}}, token=consent_token(consent_id))
    refreshed = access_token_mint(
        client=tpp.client, grant_type="refresh_token", scopes=["openid", "payments"], consent_id=consent_id
    )
    also_ok = tpp.post(BOUND, {"data": {"consentId": consent_id}}, token=refreshed)
    wrong_consent = tpp.post(BOUND, {"data": {"consentId": "urn:opusof:C2"}}, token=consent_token(consent_id))

    assert (ok.status_code, also_ok.status_code) == (201, 201)
    assert tpp.decode(ok)["data"] == {"consentId": consent_id}
    assert_error(wrong_consent, 403, "FORBIDDEN")


# --- Headers --------------------------------------------------------------------------------------------------------


def test_missing_interaction_id_is_400_with_a_generated_one(tpp, client_credentials_token):
    response = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, interaction_id=None)

    assert_error(response, 400, "PARAMETRO_NAO_INFORMADO")
    assert uuid.UUID(response["x-fapi-interaction-id"])
    assert_nothing_written()


@pytest.mark.parametrize(
    "value", ["abc", "d78fc4e5-37ca-4da3-adf2-9b082bf9228", "d78fc4e5-37ca-4da3-adf2-9b082bf92280 "]
)
def test_invalid_interaction_id_is_400_with_a_generated_one(value, tpp, client_credentials_token):
    response = tpp.get(f"{ECHO}/x", token=client_credentials_token, interaction_id=value)

    assert_error(response, 400, "PARAMETRO_INVALIDO", spec_path="/consents/{consentId}", method="get")
    assert response["x-fapi-interaction-id"] != value
    assert uuid.UUID(response["x-fapi-interaction-id"])


def test_interaction_id_is_echoed_on_errors(tpp):
    interaction_id = str(uuid.uuid4())

    response = tpp.post(ECHO, {"data": {}}, token=None, interaction_id=interaction_id)

    assert response.status_code == 401
    assert response["x-fapi-interaction-id"] == interaction_id


def test_missing_idempotency_key_is_422(tpp, client_credentials_token):
    response = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, idempotency_key=None)

    body = assert_error(response, 422, "PARAMETRO_NAO_INFORMADO", tpp=tpp)
    assert "x-idempotency-key" in body["errors"][0]["detail"]
    assert_nothing_written()


@pytest.mark.parametrize("key", [" leading", "trailing ", "k" * 41])
def test_malformed_idempotency_key_is_422(key, tpp, client_credentials_token):
    response = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, idempotency_key=key)

    assert_error(response, 422, "PARAMETRO_INVALIDO", tpp=tpp)
    assert_nothing_written()


def test_header_errors_on_patch_are_400(tpp, client_credentials_token):
    """The PATCHes' 422 admits only PAGAMENTO_NAO_PERMITE_CANCELAMENTO, so their syntax errors are 400."""
    missing = tpp.patch(ECHO, {"data": {}}, token=client_credentials_token, idempotency_key=None)
    ok = tpp.patch(ECHO, {"data": {"status": "CANC"}}, token=client_credentials_token)

    spec_path = "/pix/payments/consents/{consentId}"
    assert_error(missing, 400, "PARAMETRO_NAO_INFORMADO", spec_path=spec_path, method="patch")
    assert ok.status_code == 200
    assert tpp.decode(ok)["data"] == {"status": "CANC"}


def test_idempotency_key_of_40_characters_is_accepted(tpp, client_credentials_token):
    response = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, idempotency_key="k" * 40)

    assert response.status_code == 201


def test_fapi_auth_date_is_checked_when_present(tpp, client_credentials_token):
    good = tpp.post(
        ECHO,
        {"data": {}},
        token=client_credentials_token,
        headers={"x-fapi-auth-date": "Sun, 10 Sep 2017 19:43:31 UTC"},
    )
    bad_post = tpp.post(
        ECHO, {"data": {}}, token=client_credentials_token, headers={"x-fapi-auth-date": "2017-09-10T19:43:31Z"}
    )
    bad_get = tpp.get(f"{ECHO}/x", token=client_credentials_token, headers={"x-fapi-auth-date": "Sun, 10 Sep 2017"})

    assert good.status_code == 201
    assert_error(bad_post, 422, "PARAMETRO_INVALIDO", tpp=tpp)
    assert_error(bad_get, 400, "PARAMETRO_INVALIDO", spec_path="/consents/{consentId}", method="get")


def test_accept_without_jwt_is_406(tpp, client_credentials_token):
    post = tpp.post(ECHO, {"data": {}}, token=client_credentials_token, accept="application/json")
    get = tpp.get(f"{ECHO}/x", token=client_credentials_token, accept="application/json")

    assert_error(post, 406, "NOT_ACCEPTABLE")
    assert_error(get, 406, "NOT_ACCEPTABLE", spec_path="/consents/{consentId}", method="get")
    assert_nothing_written()


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_content_type_other_than_jwt_is_415(content_type, tpp, client_credentials_token):
    body = json.dumps({"data": {}}) if content_type == "application/json" else tpp.sign(tpp.claims_for(ECHO, {}))

    response = tpp.post(ECHO, token=client_credentials_token, raw_body=body, content_type=content_type)

    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert_nothing_written()


def test_unsupported_method_is_405(tpp, client_credentials_token):
    response = tpp.api.put(
        ECHO,
        data=tpp.sign(tpp.claims_for(ECHO, {"data": {}})),
        content_type="application/jwt",
        headers={
            "Authorization": f"Bearer {client_credentials_token}",
            "x-fapi-interaction-id": str(uuid.uuid4()),
            "x-idempotency-key": "k1",
        },
    )

    assert_error(response, 405, "METHOD_NOT_ALLOWED")


def test_empty_success_has_no_body(tpp, client_credentials_token):
    response = tpp.api.delete(
        ECHO,
        headers={
            "Authorization": f"Bearer {client_credentials_token}",
            "x-fapi-interaction-id": str(uuid.uuid4()),
            "x-idempotency-key": "k1",
        },
    )

    assert response.status_code == 204
    assert response.content == b""
    assert response["x-fapi-interaction-id"]


# --- Error mapping --------------------------------------------------------------------------------------------------


def test_serializer_errors_name_the_field_and_prefer_missing(tpp, client_credentials_token):
    missing = tpp.post(VALIDATED, {"data": {"payment": {"amount": "1"}}}, token=client_credentials_token)
    invalid = tpp.post(
        VALIDATED, {"data": {"payment": {"amount": "1", "currency": "BRL"}}}, token=client_credentials_token
    )

    body = assert_error(missing, 422, "PARAMETRO_NAO_INFORMADO", tpp=tpp)
    assert "data.payment.currency" in body["errors"][0]["detail"]
    body = assert_error(invalid, 422, "PARAMETRO_INVALIDO", tpp=tpp)
    assert "data.payment.amount" in body["errors"][0]["detail"]


def test_unexpected_exception_is_the_regulated_500(tpp, client_credentials_token):
    response = tpp.get(f"{ECHO}/boom", token=client_credentials_token)

    body = assert_error(response, 500, "INTERNAL_ERROR", spec_path="/consents/{consentId}", method="get")
    assert "Traceback" not in json.dumps(body) and "a bug" not in json.dumps(body)


def test_a_response_that_cannot_be_signed_is_the_regulated_500(tpp, client_credentials_token):
    response = tpp.get(f"{ECHO}/unrenderable", token=client_credentials_token)

    assert_error(response, 500, "INTERNAL_ERROR", spec_path="/consents/{consentId}", method="get")


# --- Idempotency ----------------------------------------------------------------------------------------------------


def test_retry_replays_status_and_payload_re_signed(tpp, client_credentials_token):
    key = str(uuid.uuid4())
    first = tpp.post(ECHO, {"data": {"value": 1}}, token=client_credentials_token, idempotency_key=key)
    second = tpp.post(ECHO, {"data": {"value": 1}}, token=client_credentials_token, idempotency_key=key)

    assert (first.status_code, second.status_code) == (201, 201)
    one, two = tpp.decode(first), tpp.decode(second)
    assert {k: one[k] for k in ("data", "links", "meta")} == {k: two[k] for k in ("data", "links", "meta")}
    assert one["jti"] != two["jti"]
    assert _effects() == 1
    assert IdempotencyRecord.objects.get().response_status == 201


def test_same_key_with_different_data_is_erro_idempotencia(tpp, client_credentials_token):
    key = str(uuid.uuid4())
    tpp.post(ECHO, {"data": {"value": 1}}, token=client_credentials_token, idempotency_key=key)

    response = tpp.post(ECHO, {"data": {"value": 2}}, token=client_credentials_token, idempotency_key=key)

    body = assert_error(response, 422, "ERRO_IDEMPOTENCIA", tpp=tpp)
    assert body["errors"][0]["detail"] == IDEMPOTENCY_CONFLICT_DETAIL
    assert _effects() == 1


def test_data_comparison_ignores_key_order(tpp, client_credentials_token):
    key = str(uuid.uuid4())
    first = tpp.post(
        ECHO, {"data": {"a": 1, "b": {"c": 2, "d": 3}}}, token=client_credentials_token, idempotency_key=key
    )
    second = tpp.post(
        ECHO, {"data": {"b": {"d": 3, "c": 2}, "a": 1}}, token=client_credentials_token, idempotency_key=key
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert _effects() == 1


def test_keys_are_scoped_by_client(tpp, other_tpp, client_credentials_token):
    key = str(uuid.uuid4())
    other_token = access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=["payments"])

    tpp.post(ECHO, {"data": {"value": 1}}, token=client_credentials_token, idempotency_key=key)
    other = other_tpp.post(ECHO, {"data": {"value": 2}}, token=other_token, idempotency_key=key)

    assert other.status_code == 201
    assert _effects() == 2


def test_regulated_error_is_stored_and_replayed(tpp, client_credentials_token):
    key = str(uuid.uuid4())
    first = tpp.post(ECHO, {"data": {"fail": "regulated"}}, token=client_credentials_token, idempotency_key=key)
    second = tpp.post(ECHO, {"data": {"fail": "regulated"}}, token=client_credentials_token, idempotency_key=key)

    one = assert_error(first, 422, "PARAMETRO_INVALIDO", tpp=tpp)
    two = assert_error(second, 422, "PARAMETRO_INVALIDO", tpp=tpp)
    assert {k: one[k] for k in ("errors", "meta")} == {k: two[k] for k in ("errors", "meta")}
    # The view's committed work stays with its 422 (a consent consumed with a 422, payments v4 2.3) - once.
    assert _effects() == 1
    assert IdempotencyRecord.objects.get().response_status == 422


def test_unexpected_exception_rolls_back_and_stores_nothing(tpp, client_credentials_token):
    key = str(uuid.uuid4())
    response = tpp.post(ECHO, {"data": {"fail": "unexpected"}}, token=client_credentials_token, idempotency_key=key)

    assert_error(response, 500, "INTERNAL_ERROR")
    assert_nothing_written()


def test_5xx_is_never_stored(tpp, client_credentials_token):
    key = str(uuid.uuid4())
    response = tpp.post(ECHO, {"data": {"fail": "overloaded"}}, token=client_credentials_token, idempotency_key=key)
    retry = tpp.post(ECHO, {"data": {"value": 1}}, token=client_credentials_token, idempotency_key=key)

    assert_error(response, 529, "SITE_IS_OVERLOADED")
    assert retry.status_code == 201
    assert _effects() == 1


def test_expired_record_is_treated_as_absent(tpp, client_credentials_token):
    key = str(uuid.uuid4())
    tpp.post(ECHO, {"data": {"value": 1}}, token=client_credentials_token, idempotency_key=key)
    IdempotencyRecord.objects.update(expires_at=timezone.now())

    again = tpp.post(ECHO, {"data": {"value": 2}}, token=client_credentials_token, idempotency_key=key)

    assert again.status_code == 201
    assert tpp.decode(again)["data"]["echo"] == {"value": 2}
    assert _effects() == 2
    assert IdempotencyRecord.objects.get().expires_at > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_run_the_view_once(tpp, client_credentials_token):
    threads = 20
    key = str(uuid.uuid4())
    barrier = threading.Barrier(threads)

    def call(_: int) -> HttpResponseBase:
        actor = TppActor(client=tpp.client, key=tpp.key, kid=tpp.kid)  # own APIClient per thread
        try:
            barrier.wait(timeout=30)
            return actor.post(
                ECHO, {"data": {"value": "same", "delay": 0.2}}, token=client_credentials_token, idempotency_key=key
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        responses = list(pool.map(call, range(threads)))

    assert [r.status_code for r in responses] == [201] * threads
    decoded = [tpp.decode(r) for r in responses]
    assert all(claims["data"] == decoded[0]["data"] for claims in decoded)
    assert len({claims["jti"] for claims in decoded}) == threads
    assert _effects() == 1
    assert IdempotencyRecord.objects.count() == 1


# --- mTLS (RFC 8705) ------------------------------------------------------------------------------------------------


def _certificate(name: str) -> tuple[str, str]:
    """(PEM, x5t#S256) of a fresh self-signed certificate."""
    import datetime as dt
    import hashlib
    from urllib.parse import quote

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    return quote(cert.public_bytes(serialization.Encoding.PEM).decode()), thumbprint


@override_settings(OPUSOF_MTLS_REQUIRED=True)
def test_mtls_token_must_match_the_forwarded_certificate(tpp):
    pem, thumbprint = _certificate("tpp")
    other_pem, _ = _certificate("someone-else")
    token = access_token_mint(
        client=tpp.client, grant_type="client_credentials", scopes=["payments"], cert_thumbprint=thumbprint
    )
    header = settings.OPUSOF_CLIENT_CERT_HEADER

    ok = tpp.get(f"{ECHO}/x", token=token, headers={header: pem})
    other = tpp.get(f"{ECHO}/x", token=token, headers={header: other_pem})
    missing = tpp.get(f"{ECHO}/x", token=token)

    assert ok.status_code == 200
    for response in (other, missing):
        assert_error(response, 401, "INVALID_CLIENT", spec_path="/consents/{consentId}", method="get")


# --- The handler on its own -----------------------------------------------------------------------------------------


def test_422_without_an_authenticated_client_falls_back_to_json():
    from django.test import RequestFactory

    from opusof.api.errors import exception_handler

    response = exception_handler(ParameterInvalid("x"), {"request": RequestFactory().get("/"), "view": None})

    assert response.status_code == 422
    assert response["Content-Type"] == "application/json; charset=utf-8"


def test_holder_signature_is_checked_by_the_support_decoder(tpp, rsa_keys):
    import jwt

    forged = jwt.encode({"data": {}, "iss": settings.OPUSOF_ORGANISATION_ID}, rsa_keys[3], algorithm="PS256")
    with pytest.raises((jwt.InvalidTokenError, AssertionError)):
        decode_holder_jws(forged)
