"""FreshToken: a token issued more than `max_age` (+ the leeway) seconds ago is refused with `token_not_fresh`."""

import time

import pytest
from rest_framework.test import APIClient


@pytest.mark.parametrize(
    ("age", "allowed"), [(0, True), (60, True), (64, True), (66, False), (3600, False), (None, False)]
)
def test_only_a_token_issued_within_max_age_passes(make_token, age, allowed):
    """The view allows 60 s; the leeway (5 s) allows for Better Auth's clock being a little ahead or behind."""
    token = make_token(sub="alice", iat=None if age is None else int(time.time()) - age)
    response = APIClient().delete("/delete", headers={"Authorization": f"Bearer {token}"})
    if allowed:
        assert (response.status_code, response.json()["id"]) == (200, "alice")
        return
    assert response.status_code == 401
    assert response.json() == {
        "detail": "This needs a token issued in the last 60 seconds. Get a fresh one from authClient.token() "
        "(or auth.api.getToken() on the server) and retry.",
        "code": "token_not_fresh",
    }
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_without_a_token_it_is_drfs_own_401():
    response = APIClient().delete("/delete")
    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."
