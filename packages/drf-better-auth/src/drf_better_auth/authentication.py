"""DRF authentication by Better Auth JWT.

Trust model: the JWT's verified `sub` is the user; nothing in the body or the path is trusted to say who that is.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from . import bearer, conf, tokens
from .users import TokenUser


class TokenRefused(exceptions.AuthenticationFailed):
    """A 401 whose body is `{"detail", "code"}` under any exception handler, DRF's own included (it writes a dict
    detail as the body)."""

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__({"detail": detail, "code": code}, code=code)


class ServiceUnavailable(exceptions.APIException):
    """503; `wait` (seconds) becomes the `Retry-After` header, as DRF does for Throttled."""

    status_code = 503
    default_detail = "The service is temporarily unavailable; try again shortly."
    default_code = "service_unavailable"

    def __init__(self, detail: str | None = None, *, wait: int) -> None:
        super().__init__(detail)
        self.wait = wait


class BetterAuthJWTAuthentication(BaseAuthentication):
    """`Authorization: Bearer <jwt>` with a JWT issued by Better Auth (the scheme is case-insensitive).

    `request.user` is a TokenUser whose `id` is the token's `sub`; `request.auth` is the token's claims.
    """

    realm = "api"

    def authenticate(self, request: Request) -> tuple[TokenUser, dict[str, Any]] | None:
        """Authenticate the request and return a two-tuple of (user, claims), or None when no bearer token."""
        raw_token = self.get_raw_token(request)
        if raw_token is None:
            return None
        claims = self.get_validated_claims(raw_token)
        return TokenUser(claims), claims

    def get_raw_token(self, request: Request) -> str | None:
        try:
            return bearer.raw_token(request.META.get("HTTP_AUTHORIZATION", ""))
        except bearer.Refusal as exc:
            raise TokenRefused(exc.detail, code=exc.code) from exc

    def get_validated_claims(self, raw_token: str) -> dict[str, Any]:
        try:
            return bearer.validated_claims(raw_token, conf.verify)
        except bearer.Refusal as exc:
            raise TokenRefused(exc.detail, code=exc.code) from exc
        except tokens.KeysUnavailable as exc:
            raise ServiceUnavailable(bearer.KEYS_UNAVAILABLE, wait=exc.retry_after) from exc

    def authenticate_header(self, request: Request) -> str:
        """The challenge of every 401 (RFC 6750, section 3); without it DRF would answer 403."""
        if bearer.sends_bearer(request.META.get("HTTP_AUTHORIZATION", "")):
            return f'Bearer realm="{self.realm}", error="invalid_token"'
        return f'Bearer realm="{self.realm}"'
