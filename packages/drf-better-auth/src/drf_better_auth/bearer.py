"""From an `Authorization` header to verified claims, or a refusal with the `detail` and `code` of its 401.

Shared by the DRF authentication class and the decorator for plain Django views; imports nothing of DRF.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import tokens

KEYWORD = "bearer"  # compared case-insensitively (RFC 9110, 11.1)
JWT_CHARACTERS = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]*){2}")
NOT_AUTHENTICATED = (
    "Authentication credentials were not provided. Send 'Authorization: Bearer <jwt>' with the JWT from "
    "Better Auth (authClient.token() or /api/auth/token)."
)
KEYS_UNAVAILABLE = "The token's signing key could not be fetched from Better Auth; try again shortly."


class Refusal(Exception):
    """A token sent and refused: its 401 says `detail` to a person and `code` to a frontend."""

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


def sends_bearer(authorization: str) -> bool:
    parts = authorization.split()
    return bool(parts) and parts[0].lower() == KEYWORD


def raw_token(authorization: str) -> str | None:
    """The token of a `Bearer <token>` header; None for no header or another scheme; a Refusal for a bad one."""
    parts = authorization.split()
    if not parts or parts[0].lower() != KEYWORD:
        return None
    if len(parts) != 2:
        raise Refusal("Invalid Authorization header: send exactly one 'Bearer <token>'.", code="token_invalid")
    token = parts[1]
    if len(token) > tokens.MAX_TOKEN_LENGTH:
        raise Refusal(f"Invalid token: longer than {tokens.MAX_TOKEN_LENGTH} characters.", code="token_invalid")
    if "." not in token:
        # Better Auth's session token is opaque (no dots): the most common mistake, so it gets its own answer.
        raise Refusal(
            "This looks like a Better Auth session token. Send the JWT from /api/auth/token "
            "(authClient.token()) instead.",
            code="token_invalid",
        )
    if not JWT_CHARACTERS.fullmatch(token):
        raise Refusal("Invalid token: not a JWT.", code="token_invalid")
    return token


def validated_claims(token: str, verify: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """`verify(token)`, its refusals turned into Refusal; KeysUnavailable goes through (a 503, not a 401)."""
    try:
        return verify(token)
    except tokens.TokenExpired as exc:
        raise Refusal(
            "The token has expired. Get a fresh one from authClient.token() and retry.", code="token_expired"
        ) from exc
    except tokens.TokenError as exc:
        raise Refusal(f"Invalid token: {exc}.", code="token_invalid") from exc
