"""CORS as the contract says: no credentials, the headers a frontend reads exposed, the ones it sends allowed."""

import pytest
from rest_framework.test import APIClient

FRONTEND = "https://app.example.com"
EXPOSED = {"location", "retry-after", "etag", "x-request-id", "idempotent-replayed"}
SENT = ["authorization", "content-type", "if-match", "if-none-match", "idempotency-key", "x-request-id"]


def header_set(value: str) -> set[str]:
    return {name.strip().lower() for name in value.split(",")}


@pytest.fixture(autouse=True)
def frontend_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_a_preflight_allows_the_headers_a_frontend_sends(method):
    response = APIClient().options(
        "/api/tasks/3f2b1a9e-1c4d-4e5f-8a9b-0c1d2e3f4a5b",
        HTTP_ORIGIN=FRONTEND,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=", ".join(SENT),
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert set(SENT) <= header_set(response["Access-Control-Allow-Headers"])
    assert method.lower() in header_set(response["Access-Control-Allow-Methods"])
    assert "Access-Control-Allow-Credentials" not in response
    assert response["X-Request-ID"]  # the preflight is answered by a middleware, and has its id too


@pytest.mark.django_db
@pytest.mark.parametrize(("token", "status"), [(True, 200), (False, 401)])
def test_a_frontend_may_read_the_exposed_headers(client_for, token, status):
    client = client_for("alice") if token else APIClient()
    response = client.get("/api/tasks", HTTP_ORIGIN=FRONTEND)
    assert response.status_code == status
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert header_set(response["Access-Control-Expose-Headers"]) == EXPOSED
    assert "Access-Control-Allow-Credentials" not in response


def test_another_origin_gets_no_cors_headers():
    response = APIClient().options(
        "/api/tasks", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in response
