"""The API as deployed: gunicorn with production settings (DEBUG off), over real HTTP."""

import gc
import importlib.util
import time

import pytest
from django.urls import get_resolver

from tests.live import ROOT, call

HTTPS = ("X-Forwarded-Proto", "https")  # what the platform's TLS proxy sets (SECURE_PROXY_SSL_HEADER)


@pytest.fixture(scope="module")
def production(start_module_gunicorn):
    return start_module_gunicorn(DJANGO_SECURE_SSL_REDIRECT="")  # unset: the production default, on


@pytest.mark.parametrize(
    ("path", "with_token", "status"),
    [("/api/tasks", True, 200), ("/api/tasks", False, 401), ("/api/nope", True, 404), ("/health", False, 200)],
)
def test_security_headers_on_every_answer(production, make_token, path, with_token, status):
    headers = [HTTPS, ("Authorization", f"Bearer {make_token(sub='alice', alg='HS256')}")] if with_token else [HTTPS]
    response = call(production.url, "GET", path, headers=headers)
    assert response.status == status
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_plain_http_is_redirected_to_https_but_health_is_not(production):
    response = call(production.url, "GET", "/api/tasks")
    assert response.status == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{production.port}/api/tasks"
    assert call(production.url, "GET", "/health").status == 200


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_logs_never_hold_a_token(start_gunicorn, make_token, log_format):
    """gunicorn's access log and Django's loggers (at DEBUG), for accepted, refused and failed requests alike: a token
    in the query string, in the path, in a header or in an exception's message and traceback."""
    server = start_gunicorn(LOG_LEVEL="DEBUG", LOG_FORMAT=log_format, DJANGO_SETTINGS_MODULE="tests.failing_settings")
    valid = make_token(sub="alice", alg="HS256")
    forged = valid.rsplit(".", 1)[0] + ".Zm9yZ2Vk"
    expired = make_token(sub="alice", alg="HS256", exp=int(time.time()) - 60)
    oversized = make_token(sub="alice", alg="HS256", padding="x" * 9000)
    requests = [
        ("GET", "/api/tasks", [("Authorization", f"Bearer {valid}")]),
        ("POST", "/api/tasks", [("Authorization", f"Bearer {forged}")]),
        ("GET", "/api/tasks", [("Authorization", f"Bearer {expired}")]),
        ("GET", "/api/tasks", [("Authorization", f"Bearer {oversized}")]),
        ("GET", "/api/nope", [("Authorization", f"Bearer {valid}")]),
        ("GET", f"/api/tasks?token={valid}&access_token={forged}", []),
        ("GET", "/api/tasks", [("Authorization", f"Basic {valid}")]),
        ("GET", "/api/tasks", [("Cookie", f"token={valid}")]),
        ("GET", f"/api/tasks/{valid}", [("Authorization", f"Bearer {valid}")]),
        ("GET", f"/api/{expired}/tasks", [("Authorization", f"Bearer {valid}")]),
        ("GET", "/fail", [("Authorization", f"Bearer {valid}")]),
    ]
    statuses = [call(server.url, method, path, headers=headers).status for method, path, headers in requests]
    # gunicorn's own header limit (8190 bytes) answers the oversized token with a 431, as the contract allows.
    assert statuses == [200, 401, 401, 431, 404, 401, 401, 401, 404, 404, 500]
    server.stop()
    logs = server.logs()
    for token in [valid, forged, expired, oversized]:
        for part in token.split("."):
            assert part[:40] not in logs
    # The lines were there, and were searched: the access line of every request Django answered, the refusals and
    # the failure's traceback.
    assert logs.count("GET /api/tasks 401") == 4
    assert logs.count("Unauthorized: /api/tasks") == 5
    assert "RuntimeError: forced failure while handling Bearer [token redacted]" in logs
    assert "Not Found: /api/tasks/[token redacted]" in logs


def test_workers_freeze_what_they_loaded_at_start_up():
    """gunicorn.conf.py: a worker loads the URLconf, then freezes its start-up objects out of the collector's full
    passes (BENCHMARKS.md: those passes set the list's p99)."""
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert gc.get_freeze_count() == 0
    try:
        conf.post_worker_init(worker=None)
        assert "url_patterns" in get_resolver().__dict__  # the views were imported before the freeze
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
