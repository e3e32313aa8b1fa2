"""DRF permissions on the claims of a verified Better Auth token."""

from __future__ import annotations

import time
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from . import conf
from .authentication import TokenRefused


class FreshToken(BasePermission):
    """The token was issued (`iat`) at most `max_age` seconds ago, so that a token stolen from a log or a browser
    cannot do what cannot be undone (delete an account, change an e-mail address). Better Auth mints a fresh JWT on
    every /api/auth/token call. Subclass it to set `max_age`; a request without a verified token is left to DRF's
    own 401."""

    max_age: int = 300

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, dict):
            return False
        issued_at = request.auth.get("iat")
        # The leeway allows for the clocks of Better Auth and this server disagreeing by a few seconds.
        if issued_at is None or time.time() - issued_at > self.max_age + conf.setting("BETTER_AUTH_LEEWAY"):
            raise TokenRefused(
                f"This needs a token issued in the last {self.max_age} seconds. Get a fresh one from "
                "authClient.token() (or auth.api.getToken() on the server) and retry.",
                code="token_not_fresh",
            )
        return True
