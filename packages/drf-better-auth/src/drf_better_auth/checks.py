"""System checks of the BETTER_AUTH_* settings, so that a misconfiguration shows at start, not on the first request.

Registered by the app's ready(), so "drf_better_auth" in INSTALLED_APPS turns them on. Registering them when DRF
loads the authentication class would be too late: `manage.py check` imports the URLconf, and with it DRF's views,
while it runs the checks it has already listed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.checks import Error, Tags, register

from . import conf

# RFC 7518, 3.2: an HS256 key must be at least as long as the hash, 256 bits.
MIN_SECRET_BYTES = 32


@register(Tags.security)
def check_better_auth_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    url, secret = conf.jwks_url(), conf.setting("BETTER_AUTH_SECRET")
    if url is None and secret is None:
        errors.append(
            Error(
                "Better Auth tokens cannot be verified: neither BETTER_AUTH_URL (or BETTER_AUTH_JWKS_URL) nor "
                "BETTER_AUTH_SECRET is set.",
                hint="Set BETTER_AUTH_URL to your Better Auth base URL (its keys are read from /api/auth/jwks).",
                id="drf_better_auth.E001",
            )
        )
    if url is not None and (
        not isinstance(url, str) or urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).netloc
    ):
        errors.append(
            Error(
                f"The JWKS URL {url!r} is not an http(s) URL.",
                hint="BETTER_AUTH_JWKS_URL (or BETTER_AUTH_URL) must start with https:// (or http:// locally).",
                id="drf_better_auth.E002",
            )
        )
    if secret is not None and len(str(secret).encode()) < MIN_SECRET_BYTES:
        errors.append(
            Error(
                f"BETTER_AUTH_SECRET is shorter than {MIN_SECRET_BYTES} bytes, too short for HS256 (RFC 7518, 3.2).",
                hint="Use a random secret of 32 bytes or more (openssl rand -base64 32), or leave it unset: Better "
                "Auth's jwt plugin never signs with it.",
                id="drf_better_auth.E003",
            )
        )
    return errors
