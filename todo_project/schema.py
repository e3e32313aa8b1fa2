"""The project's OpenAPI document, true to the wire: the bearer JWT scheme, error bodies by status, response
headers, and readable operation ids, for every app's views. Regenerate openapi.yaml with `make openapi`."""

import inflection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

BODY_METHODS = {"POST", "PUT", "PATCH"}
AUTHENTICATION_ERROR_CODES = ["not_authenticated", "token_expired", "token_invalid"]
# Operation ids become function names in generated clients (openapi-typescript with orval or hey-api), so each is a
# camelCase verb and noun: a viewset's own actions map to these verbs, any other write to its HTTP method's.
ACTION_VERBS = {
    "list": "list",
    "create": "create",
    "retrieve": "get",
    "update": "replace",
    "partial_update": "update",
    "destroy": "delete",
}
METHOD_VERBS = {"GET": "get", "POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
FRESH_TOKEN_ERROR_CODES = [*AUTHENTICATION_ERROR_CODES, "token_not_fresh"]


class ErrorSerializer(serializers.Serializer):
    """Every error body has a `detail` a person can read."""

    detail = serializers.CharField()


class AuthenticationErrorSerializer(ErrorSerializer):
    """A 401: `code` says what the client should do (`token_expired`: get a fresh token and retry)."""

    code = serializers.ChoiceField(choices=AUTHENTICATION_ERROR_CODES)


class FreshTokenErrorSerializer(ErrorSerializer):
    """A 401 of a route that needs a fresh token: `token_not_fresh` means get a new token and retry."""

    code = serializers.ChoiceField(choices=FRESH_TOKEN_ERROR_CODES)


class ValidationErrorSerializer(ErrorSerializer):
    """A 422: `detail` is the first message; `errors` has every message by field (`non_field_errors` for the rest)."""

    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def coded(name: str, *codes: str) -> type[serializers.Serializer]:
    """An error body whose `code` says which of the contract's errors it is."""
    return type(name, (ErrorSerializer,), {"code": serializers.ChoiceField(choices=list(codes))})


def error(description: str, serializer: type[serializers.Serializer] = ErrorSerializer) -> OpenApiResponse:
    return OpenApiResponse(serializer, description=description)


ERRORS = {
    304: OpenApiResponse(description="Not modified: If-None-Match names the task's current ETag (no body)."),
    400: error("Malformed JSON."),
    401: error("Missing, expired or invalid token; carries `WWW-Authenticate: Bearer`.", AuthenticationErrorSerializer),
    404: error("No such task for this user (also: another user's path, a page past the end)."),
    413: error("The body is larger than the limit."),
    409: error(
        "A request with this Idempotency-Key is still running.",
        coded("IdempotencyKeyInFlightSerializer", "idempotency_key_in_flight"),
    ),
    410: error(
        "The cursor is older than the deletions kept (30 days), or from before an erasure of the user's data: sync "
        "again without `since`.",
        coded("CursorExpiredSerializer", "cursor_expired"),
    ),
    412: error(
        "If-Match names none of the task's current ETag: read the task again.",
        coded("PreconditionFailedSerializer", "precondition_failed"),
    ),
    415: error("The body is not JSON."),
    422: error("Validation failed (body, query parameters or headers).", ValidationErrorSerializer),
    429: error("Rate limit exceeded; retry after `Retry-After` seconds."),
    503: error("The database or Better Auth's signing keys are unreachable; retry shortly."),
}
RESPONSE_HEADERS = [
    OpenApiParameter(
        "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[201], description="The new task."
    ),
    OpenApiParameter(
        "WWW-Authenticate", str, OpenApiParameter.HEADER, response=[401], description="A Bearer challenge."
    ),
    OpenApiParameter("Retry-After", int, OpenApiParameter.HEADER, response=[429, 503], description="Seconds to wait."),
]


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error responses a view really gives, chosen by its method and its
    policies (authentication, throttling, path parameters, pagination), so that no view repeats them."""

    def error_codes(self) -> list[int]:
        authenticated = bool(self.view.authentication_classes) and not all(
            issubclass(permission, AllowAny) for permission in self.view.permission_classes
        )
        is_list = self._is_list_view() and self.method == "GET"
        codes = []
        if self.method in BODY_METHODS:
            codes += [400, 413, 415, 422]
        if authenticated:
            codes += [401, 503]
        if "{" in self.path or is_list:  # a path parameter that names nothing, or a page past the end
            codes.append(404)
        if is_list and self._get_paginator():
            codes.append(422)  # a bad page, page_size, completed or ordering
        if self.view.throttle_classes:
            codes.append(429)
        codes += self.view_error_codes()
        return sorted(set(codes))

    def get_operation_id(self) -> str:
        """`listTasks`, `getTask`, `completeTask`, and `listUserTasks`, `completeUserTask` for the `{user_id}`
        family: derived from the route, so a new route gets a readable id without writing one by hand
        (`extend_schema(operation_id=...)` still wins). A write names what it does (`completeTask`), a read what it
        reads (`getTaskChanges`, `getAccountExport`)."""
        segments = [part for part in self.path.strip("/").split("/") if part != "api"]
        nouns = [part for part in segments if not part.startswith("{")]
        action = getattr(self.view, "action", None)
        extra_action = getattr(self.view, action, None) if action and action not in ACTION_VERBS else None
        if extra_action is not None:
            nouns.remove(extra_action.url_path)
        if action in ACTION_VERBS:
            verb = ACTION_VERBS[action]
        elif self.method == "GET":
            verb = "list" if self._is_list_view() else "get"
            if extra_action is not None:
                nouns.append(extra_action.url_path)  # a read names what it reads
        else:
            verb = inflection.camelize(extra_action.__name__, False) if extra_action else METHOD_VERBS[self.method]
        # A noun before another qualifies it ("task changes"); the last is one item on a detail route or a create.
        last = nouns[-1]
        after_last = segments[segments.index(last) + 1 :]
        one = verb == "create" or (bool(after_last) and after_last[0].startswith("{"))
        nouns = [inflection.singularize(noun) for noun in nouns[:-1]] + [inflection.singularize(last) if one else last]
        if "{user_id}" in segments:
            nouns.insert(0, "user")
        return verb + "".join(inflection.camelize(noun.replace("-", "_")) for noun in nouns)

    def view_error_codes(self) -> list[int]:
        return []

    def get_override_parameters(self):
        return [*super().get_override_parameters(), *RESPONSE_HEADERS]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self.error_codes():
            responses.setdefault(str(code), self._get_response_for_code(ERRORS[code], str(code), direction=direction))
        return responses

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response":
            # A serializer's output always carries every field it declares, so a client may rely on each one.
            schema["required"] = list(schema["properties"])
        return schema


class BetterAuthJWTScheme(OpenApiAuthenticationExtension):
    target_class = "drf_better_auth.authentication.BetterAuthJWTAuthentication"
    name = "BetterAuthJWT"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT from Better Auth's jwt plugin (authClient.token() or GET /api/auth/token).",
        }


def strip_trailing_slashes(result, generator, request, public):
    """Postprocessing hook: every route takes an optional slash; the document names each one without it."""
    result["paths"] = {path.rstrip("/") or "/": item for path, item in result["paths"].items()}
    return result
