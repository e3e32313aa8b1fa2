"""Error bodies, shaped in one place: DRF's exceptions and Django's own error views all answer JSON."""

import logging
import re
import sqlite3

from django.apps import apps
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connection
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
# Integrity violations a request can cause: what the database refused, by SQLSTATE on PostgreSQL and by message on
# SQLite ("UNIQUE constraint failed: tasks_task.id", "CHECK constraint failed: task_title_length", ...).
UNIQUE_VIOLATION, CHECK_VIOLATION, NOT_NULL_VIOLATION = "23505", "23514", "23502"
SQLITE_VIOLATION = re.compile(r"^(UNIQUE|CHECK|NOT NULL) constraint failed: (.*)$")
SQLITE_KINDS = {"UNIQUE": UNIQUE_VIOLATION, "CHECK": CHECK_VIOLATION, "NOT NULL": NOT_NULL_VIOLATION}
# PostgreSQL refuses a string longer than its varchar before any check sees it, without naming the column.
STRING_TOO_LONG = "22001"
VARCHAR_LIMIT = re.compile(r"character varying\((\d+)\)")
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


class Conflict(CodedError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This would duplicate something that already exists; read it again before retrying."
    default_code = "conflict"


class PreconditionFailed(CodedError):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The task has changed since you read it (If-Match does not match its ETag); read it again."
    default_code = "precondition_failed"


def exception_handler(exc, context):
    """DRF's handler, then the contract's bodies: 422 with `detail` and `errors`, 401 with a `code`, 503."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_error(exc)
    if isinstance(exc, (IntegrityError, DataError)):
        exc = constraint_error(exc) or exc
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


def constraint_error(exc: IntegrityError | DataError) -> exceptions.APIException | None:
    """A write the database refused, as what the API answers for it: 409 for a duplicate (unique), 422 naming the
    field for a check or a missing value (the serializer should have said so first: a rule it does not know yet, a
    field added without one). None, so a 500, for any other violation."""
    kind, name = violation(exc)
    if kind == UNIQUE_VIOLATION:
        return Conflict()
    if kind == CHECK_VIOLATION:
        field, message = check_of(name)
        return exceptions.ValidationError({field: [message]})
    if kind == NOT_NULL_VIOLATION:
        return exceptions.ValidationError({name: ["This field may not be null."]})
    if kind == STRING_TOO_LONG and (limit := VARCHAR_LIMIT.search(str(exc.__cause__))):
        return exceptions.ValidationError({field_of_length(int(limit[1])): [too_long(int(limit[1]))]})
    return None


def field_of_length(limit: int) -> str:
    """The one field that is a string of at most `limit` characters, if only one is, among the models a request can
    write (not Django's own: content types, permissions)."""
    names = {
        field.name
        for model in apps.get_models()
        if not model._meta.app_config.name.startswith("django.")
        for field in model._meta.concrete_fields
        if field.get_internal_type() == "CharField" and field.max_length == limit
    }
    return names.pop() if len(names) == 1 else "non_field_errors"


def too_long(limit: int) -> str:
    return f"Ensure this field has no more than {limit} characters."


def violation(exc: IntegrityError) -> tuple[str | None, str]:
    """(SQLSTATE, name): the constraint's name for a check, the column's for a missing value."""
    cause = exc.__cause__
    if isinstance(cause, sqlite3.Error):
        found = SQLITE_VIOLATION.match(str(cause))
        if found is None:
            return None, ""
        kind = SQLITE_KINDS[found[1]]
        return kind, found[2].split(".")[-1] if kind == NOT_NULL_VIOLATION else found[2]
    sqlstate, diag = getattr(cause, "pgcode", None), getattr(cause, "diag", None)
    if diag is None:
        return None, ""
    return sqlstate, (diag.column_name if sqlstate == NOT_NULL_VIOLATION else diag.constraint_name) or ""


def check_of(name: str) -> tuple[str, str]:
    """The field a check is about, and its message: a model's CheckConstraint of this name (its message from
    tasks/models.py, field_checks), or the check Django writes on a column of some types (a PositiveIntegerField's
    `>= 0`), which PostgreSQL names `<table>_<column>_check`."""
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            if constraint.name == name and hasattr(constraint, "condition"):
                fields = constraint.condition.referenced_base_fields
                field = next(iter(fields)) if len(fields) == 1 else "non_field_errors"
                return field, constraint.get_violation_error_message()
        for field in model._meta.concrete_fields:
            # SQLite names the column (3.40), or gave the check's SQL (older versions).
            column_checks = (f"{model._meta.db_table}_{field.column}_check", field.column, field.db_check(connection))
            if field.db_check(connection) and name in column_checks:
                return field.name, "Ensure this value is within the range of this field."
    return "non_field_errors", f"A value is outside what the database allows ({name})."


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
