"""Retry-safe writes: a request sent with an `Idempotency-Key` runs once; its retries get the kept response.

The write is done and its response kept under the key in ONE transaction; keeping it is an INSERT into a table with
a unique (user_id, key). A concurrent duplicate does its own write, then its INSERT waits on that unique index until
the first transaction ends (PostgreSQL; on SQLite it waits for the one writer): when the first committed, the
duplicate finds the key taken, rolls its own write back and replays the kept response; when the first failed and
rolled back, the duplicate's INSERT goes through and its write stands. A retry after the first committed does the
same at once; and a retry whose own write fails, because the first request changed what it checks (an If-Match that
is now stale, a task that request deleted), looks the key up after its rollback and replays what it finds. So every
retry of a request that succeeded gets its response, exactly one write per key ever commits, a crash can leave
neither a task without its kept response nor a kept response without its task, and a failed request keeps nothing.
On PostgreSQL the wait is bounded (IN_FLIGHT_WAIT_MS): the duplicate of a request still running then is answered 409
`idempotency_key_in_flight` with `Retry-After` (and its write rolled back), instead of holding its client and a
connection for as long as the first takes. Writing first and keeping after, rather than claiming the key before the
write and filling in the response after it, spares every keyed request a statement (BENCHMARKS.md, "Sync"); a
retry's write is rolled back unseen. Nothing depends on session state (SET LOCAL ends with its transaction), so this
holds through PgBouncer in transaction mode. Without the header: no query at all.
"""

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta

import orjson
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.response import Response

from todo_project.errors import LOCK_NOT_AVAILABLE, IdempotencyKeyInFlight, IdempotencyKeyReused
from todo_project.json import ORJSONRenderer

from .models import IdempotentRequest

HEADER = "Idempotency-Key"
IDEMPOTENCY_RETENTION = timedelta(hours=24)
VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")
KEPT_HEADERS = {"Location": "location", "ETag": "etag"}
# ON CONFLICT ... DO NOTHING RETURNING: one statement that keeps the response under the key or says the key is taken,
# on PostgreSQL and SQLite alike (the ORM's bulk_create(ignore_conflicts=True) cannot say which happened).
KEEP = """
    INSERT INTO tasks_idempotentrequest (user_id, key, fingerprint, created_at, status, body, location, etag)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (user_id, key) DO NOTHING RETURNING id
"""
# How long a duplicate waits for the first request with its key to finish, on PostgreSQL (SET LOCAL, sent with the
# INSERT: no extra round trip; the transaction ends right after it).
IN_FLIGHT_WAIT_MS = 5000


def fingerprint(*, operation: str, target: str, body) -> str:
    """The same for the same request, whichever route family it came by and however its JSON was spelled."""
    canonical = orjson.dumps([operation, target, body or {}], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def run_once(request, *, operation: str, target: str, write: Callable[[], Response]) -> Response:
    """`write()` once per (user, Idempotency-Key); every retry of the same request gets its response again, whatever
    running it again would answer (412, 404, 422: the first one changed what it checks)."""
    key = request.headers.get(HEADER)
    if key is None:
        return write()
    if not VALID_KEY.fullmatch(key):
        raise serializers.ValidationError({HEADER: ["Must be 1 to 255 printable ASCII characters."]})
    user_id = request.user.id
    print_ = fingerprint(operation=operation, target=target, body=request.data)
    try:
        with transaction.atomic():
            response = write()
            if 200 <= response.status_code < 300 and keep(user_id, key, print_, response):
                return response
            transaction.set_rollback(True)  # taken by a request that committed first (its answer, not ours), or failed
    except Exception:
        # The write failed; if a request with this key already succeeded, that is what this retry is answered.
        kept = IdempotentRequest.objects.filter(user_id=user_id, key=key).first()
        if kept is None:
            raise
        return replay(kept, fingerprint=print_)
    kept = IdempotentRequest.objects.filter(user_id=user_id, key=key).first()
    return response if kept is None else replay(kept, fingerprint=print_)


def keep(user_id: str, key: str, print_: str, response: Response) -> bool:
    """Keep `response` under the key: True; False when a committed request holds the key; IdempotencyKeyInFlight
    when one still running holds it after IN_FLIGHT_WAIT_MS."""
    kept = [ORJSONRenderer().render(response.data).decode(), *(response.get(header, "") for header in KEPT_HEADERS)]
    statement, params = KEEP, [user_id, key, print_, timezone.now(), response.status_code, *kept]
    if connection.vendor == "postgresql":
        statement, params = "SET LOCAL lock_timeout = %s;" + KEEP, [IN_FLIGHT_WAIT_MS, *params]
    with connection.cursor() as cursor:
        try:
            cursor.execute(statement, params)
        except OperationalError as exc:
            if getattr(exc.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE:
                raise IdempotencyKeyInFlight() from exc
            raise
        return cursor.fetchone() is not None


def replay(kept: IdempotentRequest, *, fingerprint: str) -> Response:
    if kept.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    headers = {header: getattr(kept, field) for header, field in KEPT_HEADERS.items() if getattr(kept, field)}
    return Response(orjson.loads(kept.body), status=kept.status, headers={**headers, "Idempotent-Replayed": "true"})


def forget_old(*, now=None) -> dict[str, int]:
    """Delete kept responses past their retention; the rows removed."""
    now = now or timezone.now()
    removed, _ = IdempotentRequest.objects.filter(created_at__lt=now - IDEMPOTENCY_RETENTION).delete()
    return {"idempotent_requests": removed}
