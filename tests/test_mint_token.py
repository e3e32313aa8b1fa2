"""The mint_token command: a development token that the API accepts."""

import time

import jwt
import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.helpers import SECRET


def mint(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("mint_token", *args, stdout=out)
    return out.getvalue().strip()


def test_minted_token_is_hs256_for_the_user_and_expires():
    claims = jwt.decode(mint("alice", "--minutes", "5"), SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert 295 <= claims["exp"] - time.time() <= 300


@pytest.mark.django_db
def test_minted_token_opens_the_api():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mint('alice')}")
    assert client.post("/api/tasks", {"title": "From curl"}, format="json").status_code == 201


def test_minted_token_carries_the_configured_issuer_and_audience(settings):
    settings.BETTER_AUTH_ISSUER = "https://auth.example.com"
    settings.BETTER_AUTH_AUDIENCE = ["https://auth.example.com"]
    claims = jwt.decode(
        mint("alice"),
        SECRET,
        algorithms=["HS256"],
        issuer="https://auth.example.com",
        audience="https://auth.example.com",
    )
    assert claims["sub"] == "alice"


def test_refuses_without_a_secret(settings):
    settings.BETTER_AUTH_SECRET = None
    with pytest.raises(CommandError, match="BETTER_AUTH_SECRET is not set"):
        mint("alice")


@pytest.mark.parametrize(
    ("args", "message"), [(["  "], "Invalid user id"), (["alice", "--minutes", "0"], "at least 1")]
)
def test_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        mint(*args)
