"""Verification of Better Auth JWTs: key choice by kid, claim checks and the JWKS cache. No Django, no DRF."""

from __future__ import annotations

import http.client
import json
import logging
import math
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

logger = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 8192
MAX_JWKS_BYTES = 1024 * 1024
# The cooldown bounds how often made-up kids can make this process fetch the JWKS, and how long a newly published
# key waits to be accepted: past 30 s the second matters more than the first.
MAX_JWKS_COOLDOWN = 30
# Each algorithm Better Auth's jwt plugin can sign with, and the JWK key type (and curve) it must be checked with.
# The token's `alg` only ever selects among these; a key of another family is never tried (RFC 8725, 3.1).
ASYMMETRIC_KEY_TYPES = {
    "EdDSA": ("OKP", "Ed25519"),
    "ES256": ("EC", "P-256"),
    "ES512": ("EC", "P-521"),
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
}

# Called after every JWKS fetch with the URL and the error (None when the fetch succeeded).
FetchObserver = Callable[[str, "BaseException | None"], None]


class TokenError(Exception):
    """The token is not acceptable; the message says why."""


class TokenInvalid(TokenError):
    pass


class TokenExpired(TokenError):
    pass


class KeysUnavailable(Exception):
    """The key a token needs could not be fetched from Better Auth's JWKS; worth asking again in `retry_after` s."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class PublicKey:
    key: Any
    kty: str
    crv: str | None
    alg: str | None


class JWKSCache:
    """Better Auth's public keys by kid, fetched again once they are `max_age` seconds old or a kid is unknown,
    at most once per cooldown whatever asks for it.

    A failed fetch keeps the keys already known (stale-if-error) and is retried after the cooldown, so an outage
    of Better Auth locks nobody out, while a key Better Auth withdraws is gone within max_age + cooldown.
    """

    def __init__(
        self,
        url: str,
        *,
        max_age: float,
        cooldown: float,
        timeout: float,
        on_fetch: FetchObserver | None = None,
    ) -> None:
        if urlsplit(url).scheme not in {"http", "https"}:
            raise ValueError(f"the JWKS URL must be http(s), not {url!r}")
        self.url = url
        self.max_age = max_age
        self.cooldown = cooldown
        self.timeout = timeout
        self.on_fetch = on_fetch
        self.keys: dict[str, PublicKey] = {}
        # time.monotonic() after which the keys are fetched again before use: never fetched yet, so at once.
        self.stale_at = float("-inf")
        self.last_fetch: float | None = None
        self.last_fetch_failed = False
        self._lock = threading.Lock()

    def current(self, kid: str) -> PublicKey | None:
        """The key for `kid` as Better Auth publishes it now (fetched again first once the copy is stale)."""
        if time.monotonic() >= self.stale_at:
            self._fetch_if_due(unknown_kid=False)
        return self.keys.get(kid)

    def get(self, kid: str) -> PublicKey:
        """Return the key for `kid`; raise TokenInvalid if Better Auth does not publish it, KeysUnavailable if
        Better Auth could not be asked."""
        key = self.current(kid)
        if key is None:
            self._fetch_if_due(unknown_kid=True)
            key = self.keys.get(kid)
        if key is not None:
            return key
        if self.last_fetch_failed:
            retry_after = self.cooldown - (time.monotonic() - (self.last_fetch or 0.0))
            raise KeysUnavailable(
                f"could not fetch the signing keys from {self.url}", retry_after=max(1, math.ceil(retry_after))
            )
        raise TokenInvalid("the token was signed with a key Better Auth does not publish (unknown kid)")

    def _fetch_if_due(self, *, unknown_kid: bool) -> None:
        with self._lock:
            now = time.monotonic()
            if self.last_fetch is not None and now - self.last_fetch < self.cooldown:
                return
            if not unknown_kid and now < self.stale_at:
                return  # another thread fetched them while this one waited for the lock
            self.last_fetch = now
            try:
                document = self._fetch()
            except (OSError, ValueError, http.client.HTTPException) as exc:
                logger.warning("JWKS fetch from %s failed: %s", self.url, exc)
                self.last_fetch_failed = True
                self.stale_at = now + self.cooldown
                error: BaseException | None = exc
            else:
                self.keys = parse_jwks(document)
                self.last_fetch_failed = False
                self.stale_at = now + self.max_age
                error = None
        if self.on_fetch is not None:
            self.on_fetch(self.url, error)

    def _fetch(self) -> Any:
        # __init__ allows only http(s) URLs.
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read(MAX_JWKS_BYTES))
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the connection, which would stay open until garbage-collected
            raise


def parse_jwks(document: Any) -> dict[str, PublicKey]:
    """Signature keys by kid; symmetric (`oct`), `use: enc` and malformed keys are left out."""
    keys = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    for jwk in entries if isinstance(entries, list) else []:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("kty") not in {"OKP", "EC", "RSA"} or jwk.get("use", "sig") != "sig":
            continue
        try:
            parsed = jwt.PyJWK(jwk)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            logger.warning("JWKS key %r skipped: %s", jwk.get("kid"), exc)
            continue
        keys[jwk["kid"]] = PublicKey(parsed.key, jwk["kty"], jwk.get("crv"), jwk.get("alg"))
    return keys


class Verifier:
    """Checks a Better Auth JWT and returns its claims.

    Asymmetric tokens are checked with the key named by their kid in the JWKS at `jwks_url`; HS256 tokens only with
    the shared `secret`, and only when one is given. Header fields that point at keys (jku, x5u, x5c, jwk) are never
    read. `issuer` and `audience` (a string or a list, any of which may match) are checked when given; when not,
    a token that carries them is still accepted.

    A token that passed is remembered, so its next requests skip PyJWT's parsing and signature checks: it is taken
    from memory only while it has not expired and the key that verified it is still the one Better Auth publishes
    (the JWKS is fetched again once it is `jwks_max_age` old, so this follows withdrawn keys too).
    """

    # Verified tokens remembered (a frontend sends the same token for its whole 15 minutes); the oldest goes first.
    max_remembered = 4096

    def __init__(
        self,
        jwks_url: str | None,
        *,
        secret: str | None = None,
        issuer: str | None = None,
        audience: str | Sequence[str] | None = None,
        leeway: float = 5,
        jwks_max_age: float = 300,
        jwks_cooldown: float = 10,
        jwks_timeout: float = 3,
        on_jwks_fetch: FetchObserver | None = None,
    ) -> None:
        if not 0 <= jwks_cooldown <= MAX_JWKS_COOLDOWN:
            raise ValueError(f"jwks_cooldown must be between 0 and {MAX_JWKS_COOLDOWN} seconds")
        self.jwks = (
            JWKSCache(
                jwks_url, max_age=jwks_max_age, cooldown=jwks_cooldown, timeout=jwks_timeout, on_fetch=on_jwks_fetch
            )
            if jwks_url
            else None
        )
        self.secret = secret or None
        self.issuer = issuer or None
        self.audience = ([audience] if isinstance(audience, str) else list(audience or [])) or None
        self.leeway = leeway
        # token -> (claims, exp, alg, kid, the secret or PublicKey that verified it); oldest first.
        # Read without the lock (a dict read is atomic); every change holds it.
        self._verified: dict[str, tuple[dict[str, Any], float, str, Any, Any]] = {}
        self._verified_lock = threading.Lock()

    def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid token; raise TokenExpired, TokenInvalid or KeysUnavailable otherwise."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise TokenInvalid(f"the token is longer than {MAX_TOKEN_LENGTH} characters")
        remembered = self._verified.get(token)
        if remembered is not None:
            claims, exp, algorithm, kid, key = remembered
            # PyJWT's own expiry rule; the other claims cannot turn invalid with time.
            if exp > time.time() - self.leeway and self._current_key(algorithm, kid) is key:
                return dict(claims)
            self._forget(token)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenInvalid("the token is not a well-formed JWT") from exc
        algorithm, kid = header.get("alg"), header.get("kid")
        # The key is read once: the one the signature is checked with is the one remembered, even if the JWKS
        # is fetched again meanwhile (then the remembered token is checked again on its next request).
        key = self._key_for(algorithm, kid)
        claims = self._decode(token, key.key if isinstance(key, PublicKey) else key, algorithm)
        check_numeric_dates(claims)
        check_subject(claims["sub"])
        self._remember(token, (dict(claims), int(claims["exp"]), algorithm, kid, key))
        return claims

    def _current_key(self, algorithm: str, kid: Any) -> Any:
        """The secret, or the key Better Auth publishes now under `kid` (None once withdrawn)."""
        if algorithm == "HS256":
            return self.secret
        return self.jwks.current(kid) if self.jwks is not None else None

    def _remember(self, token: str, entry: tuple) -> None:
        with self._verified_lock:
            if len(self._verified) >= self.max_remembered:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = entry

    def _forget(self, token: str) -> None:
        with self._verified_lock:
            self._verified.pop(token, None)

    def _key_for(self, algorithm: Any, kid: Any) -> str | PublicKey:
        """The secret for HS256, else the JWKS key named by `kid`, checked to be of the algorithm's family."""
        if algorithm == "HS256":
            if not self.secret:
                raise TokenInvalid("HS256 tokens are not accepted: BETTER_AUTH_SECRET is not set")
            return self.secret
        if not isinstance(algorithm, str) or algorithm not in ASYMMETRIC_KEY_TYPES:
            raise TokenInvalid(f"the algorithm {str(algorithm)[:20]!r} is not accepted")
        if self.jwks is None:
            raise TokenInvalid(f"{algorithm} tokens are not accepted: no JWKS URL (BETTER_AUTH_URL) is set")
        if not isinstance(kid, str) or not kid:
            raise TokenInvalid("the token has no kid to pick its key by")
        key = self.jwks.get(kid)
        kty, crv = ASYMMETRIC_KEY_TYPES[algorithm]
        if key.kty != kty or (crv and key.crv != crv) or (key.alg and key.alg != algorithm):
            raise TokenInvalid(f"the key {kid!r} is not a {algorithm} key")
        return key

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("the token has expired") from exc
        except jwt.PyJWTError as exc:
            raise TokenInvalid(str(exc)) from exc


def check_numeric_dates(claims: dict[str, Any]) -> None:
    """exp, nbf and iat are JSON numbers (RFC 7519, 2: NumericDate); PyJWT would also take "9999999999"."""
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TokenInvalid(f"the token's {name} is not a number")


def check_subject(sub: Any) -> None:
    """The user id: a string that is not blank, of at most 255 characters, with no control characters."""
    if not isinstance(sub, str) or not sub.strip():
        raise TokenInvalid("the token's sub is not a user id")
    if len(sub) > 255 or any(unicodedata.category(char) == "Cc" for char in sub):
        raise TokenInvalid("the token's sub is not a valid user id")
