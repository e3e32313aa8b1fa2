"""Concurrent requests over real HTTP lose nothing: clients released at once against a running server."""

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tasks.models import Task
from tests.live import call, call_together

CLIENTS = 8
ROUNDS = 5

# The SQLite test database lives in memory with a shared cache, where a second writer gets "database table is
# locked" at once instead of waiting (the busy timeout does not cover shared-cache locks). A SQLite file, as
# `make run` uses, does wait: the gunicorn test below covers it; these run on PostgreSQL.
needs_a_server_database = pytest.mark.skipif(
    connection.vendor == "sqlite", reason="in-memory shared-cache SQLite cannot take parallel writers"
)


def toggle_in_rounds(base_url: str, path: str, headers: list[tuple[str, str]]) -> list[bool]:
    """Rounds of CLIENTS simultaneous flips (an even number each), then one more; the state after each round."""
    states = []
    for _ in range(ROUNDS):
        assert call_together(base_url, "PATCH", path, headers=headers, count=CLIENTS) == [200] * CLIENTS
        states.append(call(base_url, "GET", path.removesuffix("/complete"), headers=headers).json()["completed"])
    assert call(base_url, "PATCH", path, headers=headers).status == 200
    states.append(call(base_url, "GET", path.removesuffix("/complete"), headers=headers).json()["completed"])
    return states


@needs_a_server_database
def test_parallel_toggles_never_lose_an_update(live_server, make_token, make_task):
    """Each round of an even number of flips leaves the task as it was; the last, odd flip completes it."""
    task = make_task(user_id="alice")
    headers = [("Authorization", f"Bearer {make_token(sub='alice')}")]
    states = toggle_in_rounds(live_server.url, f"/api/tasks/{task.id}/complete", headers)
    assert states == [False] * ROUNDS + [True]
    task.refresh_from_db()
    assert task.version == 1 + CLIENTS * ROUNDS + 1
    assert task.completed_at is not None


def test_parallel_toggles_on_a_sqlite_file_never_lose_an_update(start_gunicorn, make_token):
    server = start_gunicorn("--threads", str(CLIENTS))
    headers = [("Authorization", f"Bearer {make_token(sub='toggler', alg='HS256')}")]
    body = b'{"title": "flip me"}'
    created = call(
        server.url, "POST", "/api/tasks", headers=[*headers, ("Content-Type", "application/json")], body=body
    )
    url = f"/api/tasks/{created.json()['id']}"
    assert toggle_in_rounds(server.url, f"{url}/complete", headers) == [False] * ROUNDS + [True]
    assert call(server.url, "DELETE", url, headers=headers).status == 204


@needs_a_server_database
def test_parallel_patches_of_different_fields_keep_both(live_server, make_token, make_task):
    """Description edits racing toggles: every edit and every flip lands."""
    task = make_task(user_id="alice", title="start")
    headers = [("Authorization", f"Bearer {make_token(sub='alice')}"), ("Content-Type", "application/json")]

    def work(n: int) -> int:
        if n % 2:
            return call(live_server.url, "PATCH", f"/api/tasks/{task.id}/complete", headers=headers).status
        body = json.dumps({"description": f"edit {n}"}).encode()
        return call(live_server.url, "PATCH", f"/api/tasks/{task.id}", headers=headers, body=body).status

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(work, range(2 * 21)))
    assert statuses == [200] * 42
    stored = Task.objects.get()
    assert stored.completed is True  # 21 flips
    assert stored.version == 1 + 42  # every change counted once, none lost between a read and its write
    assert stored.title == "start"
    assert stored.description.startswith("edit ")


CROWD = 32
FLIPS_EACH = 10


# The server writes to the test database itself on PostgreSQL (server_database): this test commits, and is flushed.
@pytest.mark.django_db(transaction=True)
def test_a_crowd_flipping_one_task_is_never_refused_and_loses_no_flip(start_server, make_token):
    """32 clients flipping one task 10 times each, on the Procfile's server: every flip is answered 200 (a write
    waits for the task's row lock, it never runs out of attempts), and all 320 land, each once."""
    server = start_server("--workers", "2")
    headers = [("Authorization", f"Bearer {make_token(sub='crowd', alg='HS256')}")]
    created = call(
        server.url,
        "POST",
        "/api/tasks",
        headers=[*headers, ("Content-Type", "application/json")],
        body=b'{"title": "t"}',
    )
    path = f"/api/tasks/{created.json()['id']}"

    def flips(_: int) -> list[int]:
        return [
            call(server.url, "PATCH", f"{path}/complete", headers=headers, timeout=30).status for _ in range(FLIPS_EACH)
        ]

    with ThreadPoolExecutor(CROWD) as pool:
        statuses = [status for client in pool.map(flips, range(CROWD)) for status in client]
    assert Counter(statuses) == {200: CROWD * FLIPS_EACH}
    task = call(server.url, "GET", path, headers=headers).json()
    assert (task["version"], task["completed"]) == (1 + CROWD * FLIPS_EACH, False)
