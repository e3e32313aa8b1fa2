"""Error bodies, shaped in one place: DRF's exceptions and Django's own error views all answer JSON."""

import logging
import sqlite3

from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from todo_project.pooled_postgresql import PoolTimeout

logger = logging.getLogger(__name__)

UNREACHABLE_DATABASE = "The database is unreachable; try again shortly."
DATABASE_BUSY = "The database could not finish this request in time (a lock, a timeout or a conflict); try again."
POOL_SATURATED = "Every database connection of this server is in use; try again shortly."
# SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html) of the server refusing or dropping
# the connection: class 08 (connection exception), admin/crash shutdown, cannot connect now, too many connections.
CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout ran out
# Errors a retry can cure: serialization failure, deadlock, lock timeout, statement timeout (query canceled).
TRANSIENT_SQLSTATES = ("40001", "40P01", LOCK_NOT_AVAILABLE, "57014")
TRANSIENT_SQLITE_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
ASK_FOR_JWT = (
    "Authentication credentials were not provided. Send 'Authorization: Bearer <jwt>' with the JWT from "
    "Better Auth (authClient.token() or /api/auth/token)."
)


class CodedError(exceptions.APIException):
    """An error whose body carries a `code` a client can act on, besides the `detail` a person reads. A 422 also
    has the `errors` of every 422, under `field`."""

    field = "non_field_errors"


class IdempotencyKeyReused(CodedError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used for a different request; send a new key for a new request."
    default_code = "idempotency_key_reused"
    field = "Idempotency-Key"


class IdempotencyKeyInFlight(CodedError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still running; retry it after `Retry-After` seconds."
    default_code = "idempotency_key_in_flight"
    wait = 1  # DRF's handler makes it the Retry-After header


class CursorExpired(CodedError):
    status_code = status.HTTP_410_GONE
    default_detail = "This cursor is older than the deletions kept; sync again from the start, without `since`."
    default_code = "cursor_expired"


class PreconditionFailed(CodedError):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The task has changed since you read it (If-Match does not match its ETag); read it again."
    default_code = "precondition_failed"


def exception_handler(exc, context):
    """DRF's handler, then the contract's bodies: 422 with `detail` and `errors`, 401 with a `code`, 503."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_error(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()  # the same body whether or not the object exists (no model names)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = normalize_errors(exc.detail)
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
        response.data = {"detail": first_message(errors), "errors": errors}
    elif isinstance(exc, exceptions.NotAuthenticated):
        response.data = {"detail": ASK_FOR_JWT, "code": "not_authenticated"}
    elif isinstance(exc, (exceptions.AuthenticationFailed, CodedError)):
        # drf-better-auth's refusals come as {"detail", "code"} already (so that DRF's own handler shows the code).
        detail = exc.detail["detail"] if isinstance(exc.detail, dict) else exc.detail
        response.data = {"detail": str(detail), "code": detail.code}
        if isinstance(exc, CodedError) and exc.status_code == status.HTTP_422_UNPROCESSABLE_ENTITY:
            response.data["errors"] = {exc.field: [str(exc.detail)]}
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        response.data = {"detail": str(detail or "The request failed.")}
    return response


def database_error(exc: OperationalError | InterfaceError) -> Response | None:
    """503 for a lost connection and for a saturated pool (no traceback: nothing in the code failed), and for a lock,
    timeout or conflict (with the traceback, to find the query); None, so a 500 with its traceback, for anything
    else (a bug)."""
    kind = classify_database_error(exc)
    if kind == "saturated":
        logger.error("Database pool saturated: %s", exc)
        return Response({"detail": POOL_SATURATED}, status=503, headers={"Retry-After": "1"})
    if kind == "unreachable":
        logger.error("Database unreachable: %s", exc)
        return Response({"detail": UNREACHABLE_DATABASE}, status=503, headers={"Retry-After": "5"})
    if kind == "transient":
        logger.error("Database could not finish the request: %s", exc, exc_info=exc)
        return Response({"detail": DATABASE_BUSY}, status=503, headers={"Retry-After": "1"})
    return None


def classify_database_error(exc: OperationalError | InterfaceError) -> str:
    """`saturated` (the worker's pool), `unreachable`, `transient` or `bug`, from the driver's error that Django's
    wraps (its __cause__)."""
    if isinstance(exc, PoolTimeout):
        return "saturated"
    cause = exc.__cause__
    if isinstance(exc, InterfaceError):
        return "unreachable"  # "connection already closed"
    if isinstance(cause, sqlite3.Error):
        code = cause.sqlite_errorcode & 0xFF  # the primary code of an extended one (SQLITE_BUSY_SNAPSHOT...)
        if code in TRANSIENT_SQLITE_CODES:
            return "transient"
        return "unreachable" if code == sqlite3.SQLITE_CANTOPEN else "bug"
    sqlstate = getattr(cause, "pgcode", None)
    if sqlstate is None:
        return "unreachable"  # psycopg2 reports failures of the connection itself without a SQLSTATE
    if sqlstate.startswith(CONNECTION_SQLSTATES):
        return "unreachable"
    return "transient" if sqlstate in TRANSIENT_SQLSTATES else "bug"


def normalize_errors(detail) -> dict[str, list[str]]:
    """DRF's error detail as {field: [messages]}; errors not tied to a field go under `non_field_errors`."""
    if isinstance(detail, dict):
        return {field: flatten(messages) for field, messages in detail.items()}
    return {"non_field_errors": flatten(detail)}


def flatten(messages) -> list[str]:
    if isinstance(messages, dict):
        return [f"{key}: {message}" for key, value in messages.items() for message in flatten(value)]
    if isinstance(messages, list):
        return [message for item in messages for message in flatten(item)]
    return [str(messages)]


def first_message(errors: dict[str, list[str]]) -> str:
    field, messages = next(iter(errors.items()), ("non_field_errors", ["Invalid input."]))
    message = messages[0] if messages else "Invalid input."
    return message if field == "non_field_errors" else f"{field}: {message}"


def json_error(status_code: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status_code)


def bad_request(request, exception=None):
    return json_error(400, "Bad request.")


def permission_denied(request, exception=None):
    return json_error(403, "You do not have permission to perform this action.")


def page_not_found(request, exception=None):
    return json_error(404, "Not found.")


def server_error(request):
    return json_error(500, "An internal error occurred.")
