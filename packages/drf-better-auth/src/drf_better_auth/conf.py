"""The process-wide Verifier, built from the BETTER_AUTH_* Django settings on first use and again after one changes.

A setting that is absent, None or empty counts as not set.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .signals import jwks_fetched
from .tokens import Verifier

DEFAULTS: dict[str, Any] = {
    "BETTER_AUTH_LEEWAY": 5,
    "BETTER_AUTH_JWKS_MAX_AGE": 300,
    "BETTER_AUTH_JWKS_COOLDOWN": 10,
    "BETTER_AUTH_JWKS_TIMEOUT": 3,
}
JWKS_PATH = "/api/auth/jwks"  # where Better Auth's jwt plugin publishes its keys, under BETTER_AUTH_URL


def setting(name: str) -> Any:
    value = getattr(settings, name, None)
    if value is None or value == "" or value == [] or value == ():
        return DEFAULTS.get(name)
    return value


def jwks_url() -> str | None:
    """BETTER_AUTH_JWKS_URL, else BETTER_AUTH_URL + /api/auth/jwks, else None (HS256 only)."""
    if explicit := setting("BETTER_AUTH_JWKS_URL"):
        return explicit
    base = setting("BETTER_AUTH_URL")
    return f"{base.rstrip('/')}{JWKS_PATH}" if base else None


def verifier_from_settings() -> Verifier:
    return Verifier(
        jwks_url(),
        secret=setting("BETTER_AUTH_SECRET"),
        issuer=setting("BETTER_AUTH_ISSUER"),
        audience=setting("BETTER_AUTH_AUDIENCE"),
        leeway=setting("BETTER_AUTH_LEEWAY"),
        jwks_max_age=setting("BETTER_AUTH_JWKS_MAX_AGE"),
        jwks_cooldown=setting("BETTER_AUTH_JWKS_COOLDOWN"),
        jwks_timeout=setting("BETTER_AUTH_JWKS_TIMEOUT"),
        on_jwks_fetch=_send_jwks_fetched,
    )


def _send_jwks_fetched(url: str, error: BaseException | None) -> None:
    jwks_fetched.send(sender=Verifier, url=url, error=error)


_verifier: Verifier | None = None
_lock = threading.Lock()


def get_verifier() -> Verifier:
    """The process-wide verifier: one JWKS cache and one memory of verified tokens per process."""
    global _verifier
    verifier = _verifier
    if verifier is None:
        with _lock:
            if _verifier is None:
                _verifier = verifier_from_settings()
            verifier = _verifier
    return verifier


def verify(token: str) -> dict[str, Any]:
    """Return the claims of a valid Better Auth token; raise TokenError or KeysUnavailable otherwise."""
    return get_verifier().verify(token)


@receiver(setting_changed)
def _reset_verifier(*, setting: str, **kwargs: Any) -> None:
    global _verifier
    if setting.startswith("BETTER_AUTH_"):
        _verifier = None
