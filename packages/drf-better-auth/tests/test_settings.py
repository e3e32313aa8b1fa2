"""The BETTER_AUTH_* settings as the process-wide verifier reads them, and the system checks that guard them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from drf_better_auth import conf, tokens
from drf_better_auth.checks import check_better_auth_settings


@pytest.mark.parametrize("unset", [None, ""])
def test_an_empty_secret_counts_as_unset(make_token, settings, unset):
    token = make_token(sub="alice", alg="HS256")
    settings.BETTER_AUTH_SECRET = unset
    with pytest.raises(tokens.TokenInvalid, match="BETTER_AUTH_SECRET"):
        conf.verify(token)


@pytest.mark.parametrize("unset", [None, "", []])
def test_unset_issuer_and_audience_are_not_checked(make_token, settings, unset):
    settings.BETTER_AUTH_ISSUER = unset
    settings.BETTER_AUTH_AUDIENCE = unset
    assert conf.verify(make_token(sub="alice", iss="https://a.example", aud="https://b.example"))["sub"] == "alice"


@pytest.mark.parametrize("audience", ["https://app.example", ["https://other.example", "https://app.example"]])
def test_audience_is_a_string_or_a_list_any_of_which_matches(make_token, settings, audience):
    settings.BETTER_AUTH_AUDIENCE = audience
    assert conf.verify(make_token(sub="alice", aud="https://app.example"))["sub"] == "alice"
    with pytest.raises(tokens.TokenInvalid):
        conf.verify(make_token(sub="alice", aud="https://evil.example"))
    with pytest.raises(tokens.TokenInvalid):
        conf.verify(make_token(sub="alice"))


def test_the_jwks_url_defaults_to_better_auths_path_under_better_auth_url(make_token, settings, better_auth):
    settings.BETTER_AUTH_JWKS_URL = None
    settings.BETTER_AUTH_URL = better_auth.url.removesuffix("/api/auth/jwks") + "/"
    assert conf.jwks_url() == better_auth.url
    assert conf.verify(make_token(sub="alice"))["sub"] == "alice"
    assert better_auth.hits == 1


def test_without_any_url_only_hs256_is_accepted(make_token, settings):
    settings.BETTER_AUTH_JWKS_URL = None
    settings.BETTER_AUTH_URL = None
    assert conf.verify(make_token(sub="alice", alg="HS256"))["sub"] == "alice"
    with pytest.raises(tokens.TokenInvalid, match="no JWKS URL"):
        conf.verify(make_token(sub="alice"))


def test_a_new_setting_makes_a_new_verifier(settings):
    first = conf.get_verifier()
    assert conf.get_verifier() is first
    settings.BETTER_AUTH_LEEWAY = 1
    assert conf.get_verifier() is not first
    assert conf.get_verifier().leeway == 1


def ids(settings) -> list[str]:
    return [error.id for error in check_better_auth_settings()]


def test_a_good_configuration_passes_the_checks(settings):
    assert ids(settings) == []


@pytest.mark.parametrize(("secret", "exit_code"), [("short", 1), ("x" * 32, 0)])
def test_manage_py_check_runs_them_with_the_app_installed(secret, exit_code):
    result = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.checked_settings", "CHECKED_SECRET": secret},
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert result.returncode == exit_code, result.stderr
    assert ("drf_better_auth.E003" in result.stderr) is bool(exit_code)


def test_no_url_and_no_secret(settings):
    settings.BETTER_AUTH_URL = settings.BETTER_AUTH_JWKS_URL = settings.BETTER_AUTH_SECRET = None
    assert ids(settings) == ["drf_better_auth.E001"]


@pytest.mark.parametrize(
    "url", ["ftp://auth.example.com/jwks", "file:///etc/passwd", "auth.example.com/jwks", "https://"]
)
def test_a_jwks_url_that_is_not_http(settings, url):
    settings.BETTER_AUTH_JWKS_URL = url
    assert ids(settings) == ["drf_better_auth.E002"]


def test_a_better_auth_url_that_is_not_http(settings):
    settings.BETTER_AUTH_JWKS_URL = None
    settings.BETTER_AUTH_URL = "localhost:3000"
    assert ids(settings) == ["drf_better_auth.E002"]


@pytest.mark.parametrize(("secret", "refused"), [("x" * 31, True), ("é" * 16, False), ("x" * 32, False)])
def test_an_hs256_secret_shorter_than_32_bytes(settings, secret, refused):
    settings.BETTER_AUTH_SECRET = secret
    assert ids(settings) == (["drf_better_auth.E003"] if refused else [])
