"""Error bodies: always JSON with a readable `detail`, never HTML or a stack trace (DEBUG is off in tests)."""

import pytest
from django.db import OperationalError, connection
from rest_framework.test import APIClient

from tasks.models import Task
from tests.live import table_locked_by_another_connection
from todo_project import errors

pytestmark = pytest.mark.django_db


def test_malformed_json_is_400(alice):
    response = alice.post("/api/tasks", '{"title": "x",', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed JSON")
    assert Task.objects.count() == 0


@pytest.mark.parametrize("body", [b'{"title": "\xff\xfe"}', b'{"title": NaN}', b"{'title': 'x'}"])
def test_invalid_json_encodings_are_400(alice, body):
    assert alice.post("/api/tasks", body, content_type="application/json").status_code == 400


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/plain", "title=x"), ("application/x-www-form-urlencoded", "title=x"), ("application/xml", "<t/>")],
)
def test_body_that_is_not_json_is_415(alice, content_type, body):
    response = alice.post("/api/tasks", body, content_type=content_type)
    assert response.status_code == 415
    assert content_type in response.json()["detail"]
    assert Task.objects.count() == 0


@pytest.mark.parametrize(("method", "suffix"), [("put", ""), ("patch", ""), ("patch", "/complete")])
def test_updates_that_are_not_json_are_415_and_change_nothing(alice, make_task, method, suffix):
    task = make_task(user_id="alice", title="Before")
    response = getattr(alice, method)(f"/api/tasks/{task.id}{suffix}", "title=After", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["detail"]
    task.refresh_from_db()
    assert (task.title, task.completed) == ("Before", False)


def test_multipart_body_is_415(alice):
    assert alice.post("/api/tasks", {"title": "x"}, format="multipart").status_code == 415


def test_body_over_the_size_limit_is_413(alice, settings):
    body = '{"title": "x", "description": "' + "y" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'
    response = alice.post("/api/tasks", body, content_type="application/json")
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert Task.objects.count() == 0


def test_update_over_the_size_limit_is_413_and_changes_nothing(alice, make_task, settings):
    task = make_task(user_id="alice", title="Before")
    body = '{"title": "' + "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '"}'
    for method in ["put", "patch"]:
        assert getattr(alice, method)(f"/api/tasks/{task.id}", body, content_type="application/json").status_code == 413
    task.refresh_from_db()
    assert task.title == "Before"


@pytest.mark.parametrize(
    ("method", "url"),
    [("post", "/api/tasks/00000000-0000-0000-0000-000000000000"), ("put", "/api/tasks"), ("delete", "/api/tasks")],
)
def test_method_not_allowed_is_405_json(alice, method, url):
    response = getattr(alice, method)(url, {"title": "x"}, format="json")
    assert response.status_code == 405
    assert "not allowed" in response.json()["detail"]


def test_complete_takes_only_patch(alice, make_task):
    task = make_task(user_id="alice")
    for method in ["get", "post", "put", "delete"]:
        assert getattr(alice, method)(f"/api/tasks/{task.id}/complete").status_code == 405


@pytest.mark.parametrize("url", ["/api/nope", "/api/tasks/x/y/z", "/api", "/api/", "/nothing", "/api/alice/other"])
def test_unknown_routes_are_json_404(alice, url):
    for method in ["get", "post", "delete"]:
        response = getattr(alice, method)(url)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_unknown_api_route_is_json_404_even_with_debug_on(alice, settings):
    settings.DEBUG = True
    response = alice.get("/api/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_unexpected_error_is_a_generic_json_500(alice, monkeypatch):
    def explode(self):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("tasks.views.TaskViewSet.get_queryset", explode)
    alice.raise_request_exception = False
    response = alice.get("/api/tasks")
    assert response.status_code == 500
    assert response.json() == {"detail": "An internal error occurred."}
    assert b"secret internals" not in response.content


def test_unreachable_database_is_503(alice, monkeypatch):
    def unreachable(self):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("tasks.views.TaskViewSet.get_queryset", unreachable)
    response = alice.get("/api/tasks")
    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unreachable; try again shortly."}
    assert response["Retry-After"] == "5"


requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a lock and a statement timeout of a real PostgreSQL server"
)


@requires_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("timeout", ["lock_timeout", "statement_timeout"])
def test_a_lock_or_statement_timeout_is_503_with_retry_after_and_its_traceback_logged(
    alice, make_task, timeout, caplog
):
    make_task(user_id="alice")
    with table_locked_by_another_connection():
        with connection.cursor() as cursor:
            cursor.execute(f"SET {timeout} = '100ms'")
        try:
            response = alice.get("/api/tasks")
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"RESET {timeout}")
    assert response.status_code == 503
    assert response.json() == {"detail": errors.DATABASE_BUSY}
    assert response["Retry-After"] == "1"
    [record] = [record for record in caplog.records if record.name == "todo_project.errors"]
    assert record.levelname == "ERROR"
    assert record.exc_info
    assert "timeout" in str(record.exc_info[1])


# An OperationalError that no retry cures: SQLite's missing table; PostgreSQL's 55000 (class 55, which psycopg2
# maps to OperationalError like its lock timeout).
NOT_TRANSIENT = {
    "sqlite": ["SELECT * FROM no_such_table_here"],
    "postgresql": ["CREATE TEMPORARY SEQUENCE never_used", "SELECT currval('never_used')"],
}


def test_an_operational_error_that_is_a_bug_is_a_500_not_unreachable(alice, monkeypatch, caplog):
    def failing_query(self):
        with connection.cursor() as cursor:
            for statement in NOT_TRANSIENT[connection.vendor]:
                cursor.execute(statement)

    monkeypatch.setattr("tasks.views.TaskViewSet.get_queryset", failing_query)
    alice.raise_request_exception = False
    response = alice.get("/api/tasks")
    assert response.status_code == 500
    assert response.json() == {"detail": "An internal error occurred."}
    assert not [record for record in caplog.records if "unreachable" in record.getMessage()]


def test_disallowed_host_is_json_400():
    client = APIClient(raise_request_exception=False)
    response = client.get("/health", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request."}
