"""DRF authentication by Better Auth JWT.

Trust model: the JWT's verified `sub` is the user; nothing in the body or the path is trusted to say who that is.
"""

import re
import time
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from . import tokens

JWT_CHARACTERS = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]*){2}")


class TokenUser:
    """The user a verified token names, built from its claims; no database row behind it (like AnonymousUser)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, claims: dict[str, Any]) -> None:
        self.id = self.pk = claims["sub"]
        self.email = claims.get("email")
        self.name = claims.get("name")
        self.claims = claims

    def __str__(self) -> str:
        return f"TokenUser {self.id}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenUser) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def save(self) -> None:
        raise NotImplementedError("A TokenUser lives in Better Auth, not in this database.")


class ServiceUnavailable(exceptions.APIException):
    """503; `wait` (seconds) becomes the `Retry-After` header, as DRF does for Throttled."""

    status_code = 503
    default_detail = "The service is temporarily unavailable; try again shortly."
    default_code = "service_unavailable"

    def __init__(self, detail: str | None = None, *, wait: int) -> None:
        super().__init__(detail)
        self.wait = wait


class BetterAuthJWTAuthentication(BaseAuthentication):
    """`Authorization: Bearer <jwt>` with a JWT issued by Better Auth (the scheme is case-insensitive)."""

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[TokenUser, str] | None:
        """Authenticate the request and return a two-tuple of (user, token), or None when no bearer token."""
        raw_token = self.get_raw_token(request)
        if raw_token is None:
            return None
        return TokenUser(self.get_validated_claims(raw_token)), raw_token

    def get_raw_token(self, request: Request) -> str | None:
        parts = request.META.get("HTTP_AUTHORIZATION", "").split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: send exactly one 'Bearer <token>'.", code="token_invalid"
            )
        token = parts[1]
        if len(token) > tokens.MAX_TOKEN_LENGTH:
            raise exceptions.AuthenticationFailed(
                f"Invalid token: longer than {tokens.MAX_TOKEN_LENGTH} characters.", code="token_invalid"
            )
        if "." not in token:
            raise exceptions.AuthenticationFailed(
                "This looks like a Better Auth session token. Send the JWT from /api/auth/token "
                "(authClient.token()) instead.",
                code="token_invalid",
            )
        if not JWT_CHARACTERS.fullmatch(token):
            raise exceptions.AuthenticationFailed("Invalid token: not a JWT.", code="token_invalid")
        return token

    def get_validated_claims(self, raw_token: str) -> dict[str, Any]:
        try:
            return tokens.verify(raw_token)
        except tokens.TokenExpired as exc:
            raise exceptions.AuthenticationFailed(
                "The token has expired. Get a fresh one from authClient.token() and retry.", code="token_expired"
            ) from exc
        except tokens.TokenError as exc:
            raise exceptions.AuthenticationFailed(f"Invalid token: {exc}.", code="token_invalid") from exc
        except tokens.KeysUnavailable as exc:
            raise ServiceUnavailable(
                "The token's signing key could not be fetched from Better Auth; try again shortly.",
                wait=exc.retry_after,
            ) from exc

    def authenticate_header(self, request: Request) -> str:
        """The challenge of every 401 (RFC 6750, section 3); without it DRF would answer 403."""
        parts = request.META.get("HTTP_AUTHORIZATION", "").split()
        if parts and parts[0].lower() == self.keyword:
            return 'Bearer realm="api", error="invalid_token"'
        return 'Bearer realm="api"'


class FreshToken(BasePermission):
    """The token was issued (`iat`) at most ACCOUNT_DELETE_MAX_TOKEN_AGE seconds ago, so that a token stolen from a
    log or a browser cannot do what cannot be undone. Better Auth mints a fresh JWT on every /api/auth/token call."""

    def has_permission(self, request: Request, view: Any) -> bool:
        issued_at = request.user.claims.get("iat")
        # The leeway allows for the clocks of Better Auth and the API disagreeing by a few seconds.
        max_age = settings.ACCOUNT_DELETE_MAX_TOKEN_AGE + settings.BETTER_AUTH_LEEWAY
        if issued_at is None or time.time() - issued_at > max_age:
            raise exceptions.AuthenticationFailed(
                f"This needs a token issued in the last {settings.ACCOUNT_DELETE_MAX_TOKEN_AGE} seconds. Get a fresh "
                "one from authClient.token() (or auth.api.getToken() on the server) and retry.",
                code="token_not_fresh",
            )
        return True
