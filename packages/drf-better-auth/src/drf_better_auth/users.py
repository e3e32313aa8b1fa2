"""The user a verified token names: built from its claims, with no database row behind it."""

from __future__ import annotations

from typing import Any


class TokenUser:
    """Modeled after AnonymousUser: `id` (and `pk`) is the token's `sub`, `is_authenticated` is True, and it is
    never saved. Better Auth keeps the user; this process keeps nothing and makes no database query."""

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
