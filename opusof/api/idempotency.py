"""``x-idempotency-key`` semantics for the state-changing endpoints (payments v4 1.3.2.5 / 2.2.2.10; DIGEST 0.3).

Scope is (client, endpoint, key); the comparison is on the JWS ``data`` claim (``jti``/``iat`` change on every
retry). The first request takes the row lock and runs the view inside that transaction; identical requests wait on
the lock and then replay the stored status and payload, re-signed with a fresh ``jti``/``iat``. A view that moves
money runs outside any transaction instead (``atomic=False``, docs/money-safety.md).
"""

import contextlib
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction
from django.db.models import Field
from django.http.response import HttpResponseBase
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from opusof.api.errors import error_body, error_response
from opusof.api.headers import IDEMPOTENCY_KEY_HEADER
from opusof.bulk import update_rows_sql, write_together
from opusof.errors import IdempotencyConflict, RegulatedError
from opusof.models import IdempotencyRecord, TppClient
from opusof.outbox.services import outbox_batch

# 422ResponseErrorCreateConsent.errors.detail, ERRO_IDEMPOTENCIA (spelled as the spec spells it).
IDEMPOTENCY_CONFLICT_DETAIL = (
    "Conteúdo da mensagem (claim data) diverge do conteúdo associado a esta chave de idempotência (x-idempotency-key)."
)

ViewMethod = TypeVar("ViewMethod", bound=Callable[..., HttpResponseBase])


def data_hash(data: Any) -> str:
    """SHA-256 of the canonical JSON of a ``data`` claim: key order and whitespace do not make it differ."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_INSERTED = ("client", "endpoint", "key", "data_hash", "created_at", "expires_at")
_STORED = ["data_hash", "response_status", "response_body", "created_at", "expires_at"]
# Appended to a RETURNING list: this transaction commits without waiting for the disk (docs/scaling.md).
_ASYNC = ", (SELECT set_config('synchronous_commit', 'off', true))"


def _field(name: str) -> "Field[Any, Any]":
    return cast("Field[Any, Any]", IdempotencyRecord._meta.get_field(name))


def _insert_values(record: IdempotencyRecord) -> list[tuple[str, Any]]:
    return [(name, getattr(record, _field(name).attname)) for name in _INSERTED]


def _db_value(name: str, value: Any) -> Any:
    """Adapts like the ORM would (UUIDs and datetimes differ between PostgreSQL and the embedded SQLite)."""
    return _field(name).get_db_prep_value(value, connection)


def _lock_record(
    *, client: TppClient, endpoint: str, key: str, digest: str, asynchronous: bool = False
) -> tuple[IdempotencyRecord, bool]:
    """Inserts the record if absent (INSERT … ON CONFLICT DO NOTHING RETURNING), else locks the existing one
    (SELECT … FOR UPDATE); True when it was inserted now (no earlier attempt with this key ran).

    A freshly inserted row is already ours until commit; concurrent duplicates block on the conflicting insert or
    on the row lock until the first one commits, so exactly one of them runs the view. An expired record is reset
    and treated as new. ``asynchronous``: the caller's transaction holds only this record and commits without
    waiting for the disk (``_run_unlocked``).
    """
    now = timezone.now()
    expires_at = now + dt.timedelta(seconds=settings.OPUSOF_IDEMPOTENCY_TTL_SECONDS)
    fresh = IdempotencyRecord(
        client=client, endpoint=endpoint, key=key, data_hash=digest, created_at=now, expires_at=expires_at
    )
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (client_id, endpoint, key, data_hash, created_at, expires_at, response_body) "  # noqa: S608 - table name from the model
            "VALUES (%s, %s, %s, %s, %s, %s, '') ON CONFLICT (client_id, endpoint, key) DO NOTHING RETURNING id"
            + (_ASYNC if asynchronous else ""),
            [_db_value(name, value) for name, value in _insert_values(fresh)],
        )
        inserted = cursor.fetchone()
    if inserted is not None:
        fresh.pk = inserted[0]
        fresh._state.adding = False
        return fresh, True
    record = IdempotencyRecord.objects.select_for_update().get(client=client, endpoint=endpoint, key=key)
    if record.response_status is None and record.expires_at > now and record.data_hash != digest:
        # A first request with this key committed its work without an answer (a crash, a lost connection): the key
        # stays bound to that data, whose retry resumes the work (record before effect, docs/money-safety.md).
        raise IdempotencyConflict(IDEMPOTENCY_CONFLICT_DETAIL)
    if record.response_status is None or record.expires_at <= now:
        record.data_hash = digest
        record.response_status = None
        record.response_body = ""
        record.created_at = now
        record.expires_at = expires_at
    return record, False


def _store(record: IdempotencyRecord, status: int, payload: Any, *, asynchronous: bool = False) -> None:
    """Stores the answer. ``asynchronous`` (outside a transaction, ``_run_unlocked``): one statement committing
    without waiting for the disk; if a crash of the database server loses it, the record is left unanswered and a
    retry of the same request resumes its work, which was committed before (docs/money-safety.md)."""
    record.response_status = status
    record.response_body = json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False)
    if asynchronous:
        write_together([update_rows_sql([record], _STORED)], asynchronous=True)
        return
    record.save(update_fields=_STORED)


def _replay(record: IdempotencyRecord, request: Request) -> HttpResponseBase:
    status = cast(int, record.response_status)
    payload = json.loads(record.response_body)
    if status >= 400:
        return error_response(status, payload, request)
    # A Response is rendered (signed) again by the view's renderer: same payload, fresh jti and iat.
    return Response(payload, status=status)


def _scope(endpoint: str, path_params: dict[str, Any]) -> str:
    """The operation plus the resource its path names: the same key and body sent to another consent or payment
    must not replay the first one's answer. Hashed, because resource ids are up to 256 characters."""
    if not path_params:
        return endpoint
    resource = json.dumps(path_params, sort_keys=True, default=str)
    return f"{endpoint}:{hashlib.sha256(resource.encode('utf-8')).hexdigest()[:32]}"


@contextlib.contextmanager
def _request_lock(client: TppClient, endpoint: str, key: str) -> Iterator[None]:
    """A PostgreSQL session-level advisory lock on (client, endpoint, key), held across the request without any
    transaction: identical requests wait here, as they would on the record's row lock, and then replay. A process
    that dies releases it with its session."""
    name = f"idempotency|{client.pk}|{endpoint}|{key}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [name])
    try:
        yield
    finally:
        # A lost connection took the lock with it.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [name])


def _run_unlocked(
    method: Callable[..., HttpResponseBase],
    view: Any,
    request: Request,
    args: Any,
    kwargs: Any,
    *,
    scope: str,
    key: str,
    digest: str,
) -> HttpResponseBase:
    """The record is taken and committed in its own short transaction, the handler runs with no transaction open
    (its services commit their own, record before effect), and the answer is stored in a third. A 5xx or an
    unexpected exception leaves the record unanswered: the key stays bound to its data and a retry runs again."""
    client = cast(TppClient, request.user)
    with _request_lock(client, scope, key):
        # Commits without waiting for the disk: the handler's first commit that does wait (its record before the
        # bank is called) flushes this one with it, and a crash before that leaves nothing to resume.
        asynchronous = not connection.in_atomic_block
        with transaction.atomic():
            record, fresh = _lock_record(
                client=client, endpoint=scope, key=key, digest=digest, asynchronous=asynchronous
            )
            if record.response_status is not None:
                if record.data_hash != digest:
                    raise IdempotencyConflict(IDEMPOTENCY_CONFLICT_DETAIL)
                return _replay(record, request)
            if not fresh:
                record.save(update_fields=_STORED)
        try:
            with outbox_batch(known=[client]):
                response = method(view, request, *args, **kwargs)
        except RegulatedError as exc:
            if exc.status_code >= 500:
                raise
            body = error_body(exc)
            _store(record, exc.status_code, body, asynchronous=True)
            return error_response(exc.status_code, body, request)
        if response.status_code >= 500:
            return response
        if not isinstance(response, Response):
            raise TypeError(f"@idempotent handler {method.__qualname__} must return a DRF Response")
        _store(record, response.status_code, response.data, asynchronous=True)
        return response


def idempotent(endpoint: str, *, atomic: bool = True) -> Callable[[ViewMethod], ViewMethod]:
    """Decorates an OfbApiView handler (``post``/``patch``) with the idempotency semantics above.

    ``endpoint`` names the operation (``"payments-v4:consents-create"``); keys of different operations never
    collide. Without an ``x-idempotency-key`` (allowed only where the view does not require one) the handler just
    runs. What is stored: 2xx responses and regulated 4xx errors raised by the handler — the transaction then
    commits with whatever the handler's services committed alongside the error (e.g. a consent consumed with a
    422, payments v4 2.3). Never stored: 5xx, and unexpected exceptions, which roll the whole transaction back.

    ``atomic=False`` for handlers that instruct the bank (payments, charges, cancellations): they must commit their
    record before calling it, so the handler runs outside any transaction (``_run_unlocked``). PostgreSQL only (an
    advisory lock stands in for the row lock); the embedded SQLite run keeps the single transaction.
    """

    def decorator(method: ViewMethod) -> ViewMethod:
        @functools.wraps(method)
        def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
            key = request._request.headers.get(IDEMPOTENCY_KEY_HEADER)
            if not key:
                return method(view, request, *args, **kwargs)
            claims = request.data
            digest = data_hash(claims.get("data") if isinstance(claims, dict) else None)
            client = cast(TppClient, request.user)
            scope = _scope(endpoint, kwargs)
            if not atomic and connection.vendor == "postgresql":
                return _run_unlocked(method, view, request, args, kwargs, scope=scope, key=key, digest=digest)
            # One transaction per request; its status changes read the client's webhook registration once.
            with transaction.atomic(), outbox_batch(known=[client]):
                record, _ = _lock_record(client=client, endpoint=scope, key=key, digest=digest)
                if record.response_status is not None:
                    if record.data_hash != digest:
                        raise IdempotencyConflict(IDEMPOTENCY_CONFLICT_DETAIL)
                    return _replay(record, request)
                try:
                    response = method(view, request, *args, **kwargs)
                except RegulatedError as exc:
                    if exc.status_code >= 500:
                        raise
                    body = error_body(exc)
                    _store(record, exc.status_code, body)
                    return error_response(exc.status_code, body, request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                    return response
                if not isinstance(response, Response):
                    raise TypeError(f"@idempotent handler {method.__qualname__} must return a DRF Response")
                _store(record, response.status_code, response.data)
                return response

        return cast(ViewMethod, wrapper)

    return decorator
