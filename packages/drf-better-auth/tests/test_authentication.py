"""The DRF class under DRF's own exception handler: who the user is, and every refusal a 401 JSON body."""

import time

import pytest
from drf_better_auth.authentication import BetterAuthJWTAuthentication
from drf_better_auth.users import TokenUser
from rest_framework.request import Request
from rest_framework.test import APIClient

URL = "/whoami"


def get(headers: dict | None = None, url: str = URL):
    return APIClient().get(url, headers=headers or {})


def assert_refused(response, code: str):
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail", "code"}
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


@pytest.mark.parametrize("alg", ["HS256", "EdDSA", "ES256", "ES512", "RS256", "PS256"])
def test_the_user_is_the_tokens_sub(make_token, alg):
    response = get({"Authorization": f"Bearer {make_token(sub='alice', alg=alg)}"})
    assert (response.status_code, response.json()) == (200, {"id": "alice", "sub": "alice", "authenticated": True})


def test_scheme_is_case_insensitive(make_token):
    for scheme in ["bearer", "BEARER", "BeArEr"]:
        assert get({"Authorization": f"{scheme} {make_token(sub='alice')}"}).status_code == 200


@pytest.mark.parametrize("header", [None, "Basic YWxpY2U6cGFzcw==", "Token abc.def.ghi"])
def test_no_bearer_token_leaves_the_request_anonymous(header):
    response = get({"Authorization": header} if header else None)
    assert response.status_code == 401  # IsAuthenticated, with DRF's own body
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_an_anonymous_request_reaches_a_view_that_allows_it(rf):
    assert BetterAuthJWTAuthentication().authenticate(Request(rf.get(URL))) is None


def test_expired_token_says_to_get_a_fresh_one(make_token):
    response = get({"Authorization": f"Bearer {make_token(sub='alice', exp=int(time.time()) - 60)}"})
    assert_refused(response, "token_expired")
    assert "authClient.token()" in response.json()["detail"]


def test_session_token_says_to_send_the_jwt():
    response = get({"Authorization": "Bearer Xk3mVq9Zr2LwT8pN5bHc7JdF4gYs6aEu"})
    assert_refused(response, "token_invalid")
    assert "/api/auth/token" in response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer abc.def",
        "Bearer a.b.c.d",
        "Bearer <script>.a.b",
        "Bearer one.two.three extra",
        "Bearer " + "a" * 8200 + ".b.c",
        "Bearer \u00e9\u00e9.\u00e9.\u00e9",
    ],
)
def test_malformed_tokens_are_invalid(header):
    assert_refused(get({"Authorization": header}), "token_invalid")


def test_forged_signature_is_invalid(make_token):
    header, payload, _ = make_token(sub="alice").split(".")
    assert_refused(get({"Authorization": f"Bearer {header}.{payload}.AAAA"}), "token_invalid")


@pytest.mark.parametrize("sub", [None, "", "  "])
def test_missing_or_blank_sub_is_invalid(make_token, sub):
    assert_refused(get({"Authorization": f"Bearer {make_token(sub=sub)}"}), "token_invalid")


def test_unfetchable_key_is_503_with_retry_after_the_cooldown(make_token, better_auth):
    better_auth.failing = True
    response = get({"Authorization": f"Bearer {make_token(sub='alice')}"})
    assert response.status_code == 503
    assert "Better Auth" in response.json()["detail"]
    assert 1 <= int(response["Retry-After"]) <= 10


def test_hs256_works_whatever_the_jwks_does(make_token, better_auth):
    better_auth.failing = True
    assert get({"Authorization": f"Bearer {make_token(sub='alice', alg='HS256')}"}).status_code == 200
    assert better_auth.hits == 0


def test_token_user_is_stateless():
    user = TokenUser({"sub": "alice", "email": "a@example.com"})
    assert (user.id, user.pk, user.email, str(user)) == ("alice", "alice", "a@example.com", "TokenUser alice")
    assert user == TokenUser({"sub": "alice"}) != TokenUser({"sub": "bob"})
    assert user.is_authenticated
    assert not user.is_anonymous
    assert not user.is_staff
    with pytest.raises(NotImplementedError):
        user.save()
