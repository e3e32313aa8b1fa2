"""drf_better_auth.tokens on its own: no Django settings, no DRF, as a Celery task or a script would use it."""

import json
import subprocess
import sys
import textwrap

import pytest
from drf_better_auth import tokens
from drf_better_auth.testing import SigningKey, generate_private_key, make_token


def test_importing_and_verifying_needs_neither_settings_nor_drf(better_auth, signing_keys, tmp_path):
    """In a fresh interpreter with no DJANGO_SETTINGS_MODULE: an EdDSA token from the JWKS, then the modules loaded."""
    script = textwrap.dedent(
        """
        import json, sys
        from drf_better_auth.tokens import Verifier
        verifier = Verifier(sys.argv[1], secret=None, issuer="https://auth.example")
        claims = verifier.verify(sys.argv[2])
        print(json.dumps({"sub": claims["sub"], "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
        """
    )
    token = make_token(signing_keys, sub="alice", iss="https://auth.example")
    result = subprocess.run(
        [sys.executable, "-c", script, better_auth.url, token],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["sub"] == "alice"
    assert "django" not in out["loaded"]
    assert "rest_framework" not in out["loaded"]


def test_defaults_are_the_documented_ones():
    verifier = tokens.Verifier("https://auth.example/api/auth/jwks")
    assert (verifier.secret, verifier.issuer, verifier.audience, verifier.leeway) == (None, None, None, 5)
    assert (verifier.jwks.max_age, verifier.jwks.cooldown, verifier.jwks.timeout) == (300, 10, 3)


def test_hs256_only_without_a_jwks_url(signing_keys):
    verifier = tokens.Verifier(None, secret="a-secret-of-thirty-two-bytes-or-more")
    token = make_token(signing_keys, sub="alice", alg="HS256", secret="a-secret-of-thirty-two-bytes-or-more")
    assert verifier.verify(token)["sub"] == "alice"
    with pytest.raises(tokens.TokenInvalid, match="no JWKS URL"):
        verifier.verify(make_token(signing_keys, sub="alice"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://auth.example/jwks", "auth.example/jwks"])
def test_only_http_jwks_urls_are_fetched(url):
    with pytest.raises(ValueError, match="http"):
        tokens.Verifier(url)


@pytest.mark.parametrize("cooldown", [-1, 31, 300])
def test_the_refetch_cooldown_is_bounded(cooldown):
    with pytest.raises(ValueError, match="jwks_cooldown"):
        tokens.Verifier("https://auth.example/api/auth/jwks", jwks_cooldown=cooldown)


def test_each_fetch_is_reported_to_the_observer(better_auth, signing_keys):
    seen = []
    verifier = tokens.Verifier(better_auth.url, on_jwks_fetch=lambda url, error: seen.append((url, error)))
    verifier.verify(make_token(signing_keys, sub="alice"))
    assert seen == [(better_auth.url, None)]


def test_a_key_is_checked_against_its_own_kid_only(better_auth, signing_keys):
    """Two EdDSA keys published: a token signed with one and labelled with the other's kid is refused."""
    other = SigningKey("EdDSA", "kid-other", generate_private_key("EdDSA"))
    better_auth.keys.append(other.jwk)
    verifier = tokens.Verifier(better_auth.url)
    assert verifier.verify(make_token(signing_keys, sub="alice", key=other.private, headers={"kid": "kid-other"}))
    with pytest.raises(tokens.TokenInvalid, match="Signature"):
        verifier.verify(make_token(signing_keys, sub="alice", key=other.private))
