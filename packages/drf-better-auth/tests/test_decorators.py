"""@better_auth_required on a plain Django view: the same user, the same refusals as the DRF class."""

import time

import pytest


def test_the_user_is_the_tokens_sub(client, make_token):
    response = client.get("/plain", headers={"Authorization": f"Bearer {make_token(sub='alice')}"})
    assert (response.status_code, response.json()) == (200, {"id": "alice", "sub": "alice", "authenticated": True})


@pytest.mark.parametrize(
    ("header", "code", "challenge"),
    [
        (None, "not_authenticated", "Bearer"),
        ("Basic YWxpY2U6cGFzcw==", "not_authenticated", "Bearer"),
        ("Bearer Xk3mVq9Zr2LwT8pN5bHc7JdF4gYs6aEu", "token_invalid", 'Bearer error="invalid_token"'),
        ("Bearer a.b.c", "token_invalid", 'Bearer error="invalid_token"'),
    ],
)
def test_refusals_are_401_json(client, header, code, challenge):
    response = client.get("/plain", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response["WWW-Authenticate"] == challenge


def test_expired_token(client, make_token):
    token = make_token(sub="alice", exp=int(time.time()) - 60)
    response = client.get("/plain", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.json()["code"]) == (401, "token_expired")


def test_unfetchable_key_is_503_with_retry_after(client, make_token, better_auth):
    better_auth.failing = True
    response = client.get("/plain", headers={"Authorization": f"Bearer {make_token(sub='alice')}"})
    assert response.status_code == 503
    assert 1 <= int(response["Retry-After"]) <= 10
