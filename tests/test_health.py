"""Liveness and readiness."""

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from todo_project.pooled_postgresql import PoolTimeout


def test_health_needs_no_token_and_no_database():
    """No django_db mark: any database access here would fail the test."""
    for url in ["/health", "/health/"]:
        response = APIClient().get(url)
        assert response.status_code == 200
        assert response.json() == {"status": "healthy"}


@pytest.mark.django_db
def test_ready_when_the_database_answers():
    response = APIClient().get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.mark.django_db
def test_not_ready_when_the_database_is_unreachable(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("todo_project.views.connection.cursor", refuse)
    response = APIClient().get("/health/ready")
    assert response.status_code == 503
    assert "database" in response.json()["detail"]


@pytest.mark.django_db
def test_not_ready_when_no_pooled_connection_comes_free(monkeypatch):
    """The live test with the gevent worker's pool is in tests/test_slow_clients.py (PostgreSQL only)."""

    def saturated(*args, **kwargs):
        raise PoolTimeout("No connection of the pool came free within 0.5 s.")

    monkeypatch.setattr("todo_project.views.connection.cursor", saturated)
    response = APIClient().get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {"detail": "Every database connection of this server is in use; try again shortly."}
    assert response["Retry-After"] == "1"


def test_health_is_not_redirected_to_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    assert APIClient().get("/health").status_code == 200
    assert APIClient().get("/api/tasks").status_code == 301


def test_health_refuses_other_methods_with_json():
    response = APIClient().post("/health")
    assert response.status_code == 405
    assert response.json()["detail"]
