"""GET /metrics: Prometheus' text format behind METRICS_TOKEN, route patterns as labels, summed over gunicorn's
workers."""

import json
import uuid

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from tests.live import call, call_together

TOKEN = "scraper-secret-" + "s" * 30


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def count(method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0


def test_metrics_are_404_while_no_token_is_set(settings):
    settings.METRICS_TOKEN = None
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    "authorization",
    [None, "", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"bearer {TOKEN}", TOKEN, f"Basic {TOKEN}", "Bearer ünï"],
)
def test_metrics_need_the_token(settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = APIClient().get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.json() == {"detail": "Send 'Authorization: Bearer <METRICS_TOKEN>'."}
    assert "http_requests_total" not in response.content.decode()


@pytest.mark.django_db
def test_requests_are_counted_by_method_route_pattern_and_status(settings, alice, make_task):
    settings.METRICS_TOKEN = TOKEN
    task = make_task(user_id="alice")
    unknown = uuid.uuid4()
    before = {
        "list": count("GET", "/api/tasks", 200),
        "task": count("GET", "/api/tasks/<pk>", 200),
        "missing": count("GET", "/api/tasks/<pk>", 404),
        "other": count("PATCH", "/api/<user_id>/tasks/<pk>/complete", 404),
    }
    alice.get("/api/tasks")
    alice.get("/api/tasks/")
    alice.get(f"/api/tasks/{task.id}")
    alice.get(f"/api/tasks/{unknown}")
    alice.patch(f"/api/bob/tasks/{unknown}/complete")
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    assert count("GET", "/api/tasks", 200) - before["list"] == 2
    assert count("GET", "/api/tasks/<pk>", 200) - before["task"] == 1
    assert count("GET", "/api/tasks/<pk>", 404) - before["missing"] == 1
    assert count("PATCH", "/api/<user_id>/tasks/<pk>/complete", 404) - before["other"] == 1
    # The histogram has the same routes; no raw path with an id or a user is a label.
    labels = {"method": "GET", "route": "/api/tasks/<pk>"}
    assert REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) >= 2
    assert 'http_request_duration_seconds_bucket{le="0.1",method="GET",route="/api/tasks"}' in text
    assert str(task.id) not in text
    assert str(unknown) not in text
    assert "bob" not in text


def test_made_up_methods_share_one_label(settings):
    settings.METRICS_TOKEN = TOKEN
    before = count("other", "unrouted", 404) + count("other", "/health", 405)
    APIClient().generic("BREW", "/health")
    assert count("other", "unrouted", 404) + count("other", "/health", 405) - before == 1


def test_the_sum_over_every_gunicorn_worker(start_gunicorn, make_token):
    """Three workers serve the requests; any of them answers the scrape with the instance's total."""
    server = start_gunicorn("--workers", "3", METRICS_TOKEN=TOKEN)
    headers = [("Authorization", f"Bearer {make_token(sub='alice', alg='HS256')}")]
    statuses = []
    for _ in range(10):  # bounded: until more than one worker has served
        statuses += call_together(server.url, "GET", "/api/tasks", headers=headers, count=12)
        served_by = {line["process"] for line in access_lines(server.logs())}
        if len(served_by) > 1:
            break
    assert len(served_by) > 1
    assert set(statuses) == {200}
    for _ in range(3):  # each scrape may land on any worker
        scrape = call(server.url, "GET", "/metrics", headers=[("Authorization", f"Bearer {TOKEN}")])
        assert scrape.status == 200
        found = samples(scrape.body.decode())
        labels = frozenset({"method": "GET", "route": "/api/tasks", "status": "200"}.items())
        assert found[("http_requests_total", labels)] == len(statuses)
        histogram = frozenset({"method": "GET", "route": "/api/tasks"}.items())
        assert found[("http_request_duration_seconds_count", histogram)] == len(statuses)
    assert call(server.url, "GET", "/metrics").status == 401


def access_lines(logs: str) -> list[dict]:
    return [line for line in map(json.loads, logs.splitlines()) if line["logger"] == "gunicorn.access"]
