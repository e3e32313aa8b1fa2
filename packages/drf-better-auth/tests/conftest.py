"""Fixtures: keys made per test session, their JWKS served on 127.0.0.1, tokens, and settings reset per test."""

import functools
from collections.abc import Callable, Iterator

import pytest
from drf_better_auth.testing import JWKSServer, SigningKey, running_jwks_server
from drf_better_auth.testing import make_token as sign
from drf_better_auth.testing import signing_keys as new_keys

SECRET = "package-tests-shared-secret-of-32-bytes-or-more"


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, SigningKey]:
    return new_keys()


@pytest.fixture(scope="session")
def jwks_server() -> Iterator[JWKSServer]:
    with running_jwks_server() as state:
        yield state


@pytest.fixture(autouse=True)
def better_auth(settings, jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]) -> JWKSServer:
    """Every test starts with all keys published, the shared secret set, no issuer/audience check, a new verifier."""
    jwks_server.reset([key.jwk for key in signing_keys.values()])
    settings.BETTER_AUTH_JWKS_URL = jwks_server.url
    settings.BETTER_AUTH_SECRET = SECRET
    settings.BETTER_AUTH_ISSUER = None
    settings.BETTER_AUTH_AUDIENCE = None
    settings.BETTER_AUTH_LEEWAY = 5
    settings.BETTER_AUTH_JWKS_COOLDOWN = 10
    return jwks_server


@pytest.fixture
def make_token(signing_keys: dict[str, SigningKey]) -> Callable[..., str]:
    return functools.partial(sign, signing_keys, secret=SECRET)
