"""The per-user rate limit: 429 with Retry-After past the limit, counted per user, shared through Redis."""

import logging
import time
import uuid

import pytest
import redis
from django.core.cache import cache

from tasks.models import Task
from tests.live import call, free_port

# A database number of its own, so that nothing else using this Redis server meets these counters.
REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def limit(settings):
    settings.THROTTLE_USER_RATE = "3/min"
    cache.clear()
    yield 3
    cache.clear()


def redis_is_up() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.mark.django_db
def test_excess_is_429_with_retry_after_and_json(alice, limit):
    for _ in range(limit):
        assert alice.get("/api/tasks").status_code == 200
    response = alice.post("/api/tasks", {"title": "one too many"}, format="json")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"].lower()
    assert Task.objects.count() == 0


@pytest.mark.django_db
def test_counts_are_per_user_across_both_route_families(alice, bob, limit):
    for url in ["/api/tasks", "/api/alice/tasks/", "/api/tasks/"]:
        assert alice.get(url).status_code == 200
    assert alice.get("/api/alice/tasks").status_code == 429
    assert bob.get("/api/tasks").status_code == 200


@pytest.mark.django_db
def test_unreachable_redis_lets_requests_through_and_logs_it(alice, settings, caplog):
    """Fail open (see tasks/throttling.py): no 500 and no 503, a fast answer, and an error in the log."""
    settings.THROTTLE_USER_RATE = "3/min"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": settings.CACHES["default"].get("OPTIONS", {"socket_connect_timeout": 0.5}),
        }
    }
    with caplog.at_level(logging.ERROR, logger="tasks.throttling"):
        for _ in range(5):
            started = time.monotonic()
            assert alice.get("/api/tasks").status_code == 200
            assert time.monotonic() - started < 2
    assert "throttle cache is unreachable" in caplog.text


@pytest.mark.skipif(not redis_is_up(), reason=f"needs Redis at {REDIS_URL} (.ci/run starts one)")
def test_counts_hold_across_processes_through_redis(start_gunicorn, make_token):
    """Two API processes that share Redis share the count: 6 requests over both, then both refuse."""
    servers = [start_gunicorn(REDIS_URL=REDIS_URL, THROTTLE_USER_RATE="6/min") for _ in range(2)]
    headers = [("Authorization", f"Bearer {make_token(sub=f'throttled-{uuid.uuid4().hex}', alg='HS256')}")]
    statuses = [call(servers[n % 2].url, "GET", "/api/tasks", headers=headers).status for n in range(6)]
    assert statuses == [200] * 6
    for server in servers:
        response = call(server.url, "GET", "/api/tasks", headers=headers)
        assert response.status == 429
        assert int(response.headers["Retry-After"]) > 0
        assert response.json()["detail"]


@pytest.mark.django_db
def test_a_user_id_no_cache_key_may_hold_is_counted_under_its_digest(client_for, limit):
    """A `sub` may hold spaces and `#`; the throttle's cache key is a digest of it, which every backend takes."""
    client = client_for("odd user #1")
    assert [client.get("/api/tasks").status_code for _ in range(limit + 1)] == [200] * limit + [429]
    assert not [key for key in getattr(cache, "_cache", {}) if "odd user" in key]
