"""What drf-spectacular cannot infer: the bearer JWT scheme and distinct operation ids for the two route families."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


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
