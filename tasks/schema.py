"""What drf-spectacular cannot infer: the bearer JWT scheme, distinct operation ids for the two route families, and
the error bodies the exception handler answers with."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
AUTHENTICATION_ERROR = inline_serializer(
    "AuthenticationError",
    {
        "detail": serializers.CharField(),
        "code": serializers.ChoiceField(["not_authenticated", "token_expired", "token_invalid"]),
    },
)
VALIDATION_ERROR = inline_serializer(
    "ValidationError",
    {"detail": serializers.CharField(), "errors": serializers.DictField(child=serializers.ListField())},
)


class BetterAuthJWTScheme(OpenApiAuthenticationExtension):
    target_class = "tasks.authentication.BetterAuthJWTAuthentication"
    name = "BetterAuthJWT"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT from Better Auth's jwt plugin (authClient.token() or GET /api/auth/token).",
        }


class TaskAutoSchema(AutoSchema):
    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        return operation_id.replace("api_tasks", "api_user_tasks", 1) if "{user_id}" in self.path else operation_id

    def _get_response_bodies(self, direction="response"):
        """The success body, then the error bodies of the contract (todo_project/errors.py shapes them)."""
        responses = super()._get_response_bodies(direction)
        for code, serializer in self.error_serializers().items():
            responses.setdefault(str(code), self._get_response_for_code(serializer, str(code), direction=direction))
        return responses

    def error_serializers(self) -> dict:
        errors = {401: AUTHENTICATION_ERROR, 404: ERROR}
        if self.method in {"POST", "PUT", "PATCH"}:
            errors.update({400: ERROR, 413: ERROR, 415: ERROR, 422: VALIDATION_ERROR})
        elif self._is_list_view():
            errors[422] = VALIDATION_ERROR  # a bad query parameter
        return {**errors, 429: ERROR, 503: ERROR}
