"""Request ids: a well-formed `X-Request-ID` is kept, anything else is replaced by a UUID, every response has one."""

import uuid

import pytest
from rest_framework.test import APIClient

from tasks.models import Task


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@pytest.mark.parametrize("request_id", ["a", "req-42", "A.b_c-9", "x" * 128, "0f8fad5b-d9cb-469f-a165-70867728950e"])
@pytest.mark.django_db
def test_a_well_formed_request_id_is_kept(alice, request_id):
    response = alice.get("/api/tasks", HTTP_X_REQUEST_ID=request_id)
    assert response.status_code == 200
    assert response["X-Request-ID"] == request_id


@pytest.mark.parametrize(
    "request_id", [None, "", "x" * 129, "has space", "semi;colon", "new\\nline", "a,b", "ünïcode", "<script>"]
)
@pytest.mark.django_db
def test_a_missing_or_malformed_request_id_is_replaced_by_a_uuid(alice, request_id):
    headers = {} if request_id is None else {"HTTP_X_REQUEST_ID": request_id}
    response = alice.get("/api/tasks", **headers)
    assert response.status_code == 200
    assert is_uuid(response["X-Request-ID"])
    assert response["X-Request-ID"] != alice.get("/api/tasks", **headers)["X-Request-ID"]  # one per request


@pytest.mark.urls("tests.failing_urls")
@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("get", "/health", {}, 200),
        ("post", "/api/tasks", {"data": {"title": "x" * 500}, "format": "json"}, 422),
        ("get", "/api/tasks", {"token": "not-a-jwt"}, 401),
        ("get", "/api/tasks", {"token": None}, 401),
        ("get", "/api/nope", {}, 404),
        ("get", "/no/such/route", {}, 404),
        ("put", "/api/tasks", {"data": {}, "format": "json"}, 405),
        ("post", "/api/tasks", {"data": b"{", "content_type": "application/json"}, 400),
        # Refused by a middleware (CommonMiddleware's ALLOWED_HOSTS check), before any view runs.
        ("get", "/api/tasks", {"HTTP_HOST": "evil.example"}, 400),
        ("get", "/fail", {}, 500),
    ],
)
@pytest.mark.django_db
def test_every_response_carries_the_request_id(alice, method, path, headers, status):
    client, headers = alice, dict(headers)
    if "token" in headers:
        client = APIClient()
        token = headers.pop("token")
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.raise_request_exception = False
    response = getattr(client, method)(path, HTTP_X_REQUEST_ID="trace-me", **headers)
    assert response.status_code == status
    assert response["X-Request-ID"] == "trace-me"
    assert response.json()  # the contract's JSON body, errors included
    assert not Task.objects.exists()
