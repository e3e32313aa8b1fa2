"""The Authorization header as the API sees it: every refusal is a 401 JSON body with a Bearer challenge."""

import time

import pytest
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

URL = "/api/tasks"


def get(headers: dict | None = None, url: str = URL, **extra):
    return APIClient().get(url, headers=headers or {}, **extra)


def assert_refused(response, code: str, *, token_sent: bool = True):
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code
    assert response.json()["detail"]
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('error="invalid_token"' in challenge) is token_sent


def test_valid_token_is_accepted(make_token):
    response = get({"Authorization": f"Bearer {make_token(sub='alice')}"})
    assert response.status_code == 200


def test_scheme_is_case_insensitive(make_token):
    for scheme in ["bearer", "BEARER", "BeArEr"]:
        assert get({"Authorization": f"{scheme} {make_token(sub='alice')}"}).status_code == 200


def test_missing_token_is_not_authenticated():
    response = get()
    assert_refused(response, "not_authenticated", token_sent=False)
    assert "Bearer" in response.json()["detail"]


@pytest.mark.parametrize("header", ["Basic YWxpY2U6cGFzcw==", "Token abc.def.ghi", "JWT abc.def.ghi", "Bearer"])
def test_other_schemes_are_not_authenticated(header):
    expected = "token_invalid" if header == "Bearer" else "not_authenticated"
    assert_refused(get({"Authorization": header}), expected, token_sent=header == "Bearer")


def test_expired_token_says_to_get_a_fresh_one(make_token):
    response = get({"Authorization": f"Bearer {make_token(sub='alice', exp=int(time.time()) - 60)}"})
    assert_refused(response, "token_expired")
    assert "authClient.token()" in response.json()["detail"]


def test_session_token_says_to_send_the_jwt(make_token):
    response = get({"Authorization": "Bearer Xk3mVq9Zr2LwT8pN5bHc7JdF4gYs6aEu"})
    assert_refused(response, "token_invalid")
    assert "/api/auth/token" in response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc.def",
        "Bearer a.b.c.d",
        "Bearer <script>.a.b",
        "Bearer one.two.three extra",
        "Bearer x.y.z, Bearer x.y.z",
        "Bearer " + "a" * 8200 + ".b.c",
        "Bearer \u00e9\u00e9.\u00e9.\u00e9",
    ],
)
def test_malformed_tokens_are_invalid(header):
    assert_refused(get({"Authorization": header}), "token_invalid")


def test_forged_signature_is_invalid(make_token):
    header, payload, _ = make_token(sub="alice").split(".")
    assert_refused(get({"Authorization": f"Bearer {header}.{payload}.AAAA"}), "token_invalid")


def test_token_in_query_string_or_cookie_is_ignored(make_token):
    token = make_token(sub="alice")
    assert_refused(get(url=f"{URL}?token={token}&access_token={token}"), "not_authenticated", token_sent=False)
    client = APIClient()
    client.cookies["token"] = token
    client.cookies["better-auth.session_token"] = token
    assert_refused(client.get(URL), "not_authenticated", token_sent=False)


def test_unfetchable_key_is_503_not_401_with_retry_after_the_cooldown(make_token, better_auth):
    better_auth.failing = True
    response = get({"Authorization": f"Bearer {make_token(sub='alice')}"})
    assert response.status_code == 503
    assert "Better Auth" in response.json()["detail"]
    assert 1 <= int(response["Retry-After"]) <= 10  # the fetch is tried again after the 10 s cooldown


def test_hs256_token_works_without_any_jwks_request(make_token, better_auth):
    assert get({"Authorization": f"Bearer {make_token(sub='alice', alg='HS256')}"}).status_code == 200
    assert better_auth.hits == 0


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_method_is_refused_without_a_token(method, make_task):
    task = make_task(user_id="alice")
    for url in [f"/api/tasks/{task.id}", f"/api/alice/tasks/{task.id}", f"/api/tasks/{task.id}/complete"]:
        response = getattr(APIClient(), method)(url, {"title": "x"}, format="json")
        assert response.status_code == 401


def test_authentication_needs_no_database_query(alice, django_assert_num_queries, make_task):
    task = make_task(user_id="alice")
    with django_assert_num_queries(1):
        assert alice.get(f"/api/tasks/{task.id}").status_code == 200


def test_jwks_fetches_are_counted_by_outcome(make_token, better_auth, settings):
    """drf-better-auth's jwks_fetched signal feeds jwks_fetches_total (todo_project/metrics.py)."""

    def fetches(outcome):
        return REGISTRY.get_sample_value("jwks_fetches_total", {"outcome": outcome}) or 0

    settings.BETTER_AUTH_JWKS_COOLDOWN = 0
    before = {outcome: fetches(outcome) for outcome in ("ok", "error")}
    assert get({"Authorization": f"Bearer {make_token(sub='alice')}"}).status_code == 200
    better_auth.failing = True
    assert get({"Authorization": f"Bearer {make_token(sub='alice', headers={'kid': 'kid-new'})}"}).status_code == 503
    assert {outcome: fetches(outcome) - before[outcome] for outcome in ("ok", "error")} == {"ok": 1, "error": 1}
