"""Log lines as gunicorn writes them with production settings: one JSON object per line, the request id inside a
request, one access line per request, tracebacks inside their line; text for people when asked."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.live import call
from tests.test_settings import PRODUCTION, run

FAILING = {"DJANGO_SETTINGS_MODULE": "tests.failing_settings"}


def json_lines(text: str) -> list[dict]:
    """Every line parsed; a line that is not one JSON object fails the test."""
    lines = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    return lines


def test_every_line_is_one_json_object_with_time_level_logger_and_message(start_gunicorn):
    server = start_gunicorn("--workers", "2", **FAILING)
    call(server.url, "GET", "/api/tasks", headers=[("X-Request-ID", "req-401")])
    call(server.url, "GET", "/fail", headers=[("X-Request-ID", "req-500")])
    server.stop()
    lines = json_lines(server.logs())
    assert {"gunicorn.error", "gunicorn.access", "django.request"} <= {line["logger"] for line in lines}
    for line in lines:
        assert {"timestamp", "level", "logger", "message"} <= line.keys()
        assert line["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        written = datetime.fromisoformat(line["timestamp"])
        assert written.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - written) < timedelta(minutes=5)


def test_lines_written_inside_a_request_carry_its_id(start_gunicorn):
    server = start_gunicorn(**FAILING)
    refused = call(server.url, "GET", "/api/tasks?page=2", headers=[("X-Request-ID", "req-401")])
    failed = call(server.url, "GET", "/fail", headers=[("X-Request-ID", "req-500")])
    made = call(server.url, "GET", "/api/nope")
    server.stop()
    assert (refused.status, failed.status, made.status) == (401, 500, 404)
    assert failed.json() == {"detail": "An internal error occurred."}
    assert failed.headers["X-Request-ID"] == "req-500"
    lines = json_lines(server.logs())

    def written_for(request_id: str) -> list[dict]:
        return [line for line in lines if line.get("request_id") == request_id]

    warning, access = written_for("req-401")
    assert warning["level"] == "WARNING"
    assert warning["logger"] == "django.request"
    assert warning["message"] == "Unauthorized: /api/tasks"
    assert access["logger"] == "gunicorn.access"
    assert access["method"] == "GET"
    assert access["path"] == "/api/tasks"  # never the query string
    assert access["status"] == 401
    assert 0 < access["duration_ms"] < 10_000
    error, access = written_for("req-500")
    assert error["level"] == "ERROR"
    assert error["message"] == "Internal Server Error: /fail"
    # The traceback stays inside its line's JSON.
    assert error["exc_info"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: forced failure" in error["exc_info"]
    assert access["status"] == 500
    made_id = made.headers["X-Request-ID"]
    assert [line["logger"] for line in written_for(made_id)] == ["django.request", "gunicorn.access"]
    # Lines outside any request (gunicorn starting and stopping) have no request id.
    assert all("request_id" not in line for line in lines if line["logger"] == "gunicorn.error")


def test_text_lines_for_people(start_gunicorn):
    server = start_gunicorn(LOG_FORMAT="text")
    call(server.url, "GET", "/api/tasks", headers=[("X-Request-ID", "req-text")])
    server.stop()
    lines = server.logs().splitlines()
    assert any(" WARNING django.request [req-text] Unauthorized: /api/tasks" in line for line in lines)
    assert any(" INFO gunicorn.access [req-text] GET /api/tasks 401 " in line for line in lines)
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])


@pytest.mark.parametrize(
    ("env", "formatter"),
    [
        ({}, "json"),
        ({"DJANGO_DEBUG": "true"}, "text"),
        ({"LOG_FORMAT": "text"}, "text"),
        ({"DJANGO_DEBUG": "true", "LOG_FORMAT": "json"}, "json"),
    ],
)
def test_json_lines_by_default_in_production_and_text_with_debug(env, formatter):
    code = "import django; from django.conf import settings; django.setup(); print(settings.LOGGING['handlers'])"
    result = run(code, {**PRODUCTION, **env})
    assert result.returncode == 0, result.stderr
    assert f"'formatter': '{formatter}'" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be json or text, not 'xml'."),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not 'LOUD'."),
    ],
)
def test_unknown_log_settings_are_refused(env, message):
    result = run("import django; django.setup()", {**PRODUCTION, **env})
    assert result.returncode != 0
    assert message in result.stderr
