"""Better Auth JWTs for plain Django views (no DRF): `@better_auth_required`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from . import bearer, conf, tokens
from .users import TokenUser


def better_auth_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run `view` with `request.user` the token's TokenUser and `request.auth` its claims. Otherwise answer as the
    DRF class does: 401 `{"detail", "code"}` with `WWW-Authenticate: Bearer`, or 503 with `Retry-After` when the
    signing key cannot be fetched. For synchronous views (a JWKS fetch blocks)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        authorization = request.headers.get("Authorization", "")
        try:
            token = bearer.raw_token(authorization)
            if token is None:
                return refused(bearer.NOT_AUTHENTICATED, code="not_authenticated", token_sent=False)
            claims = bearer.validated_claims(token, conf.verify)
        except bearer.Refusal as exc:
            return refused(exc.detail, code=exc.code, token_sent=True)
        except tokens.KeysUnavailable as exc:
            response = JsonResponse({"detail": bearer.KEYS_UNAVAILABLE}, status=503)
            response["Retry-After"] = str(exc.retry_after)
            return response
        request.user, request.auth = TokenUser(claims), claims
        return view(request, *args, **kwargs)

    return wrapper


def refused(detail: str, *, code: str, token_sent: bool) -> JsonResponse:
    response = JsonResponse({"detail": detail, "code": code}, status=401)
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"' if token_sent else "Bearer"
    return response
