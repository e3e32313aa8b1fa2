"""The feed's guarantee under concurrency: a reader following cursors ends with exactly the database's tasks, and a
transaction that took its position early but commits late still reaches a reader that polled meanwhile."""

import json
import random
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from urllib.parse import urlencode, urlsplit

import psycopg2
import pytest
from django.db import connection

from tasks import changes
from tasks.models import Task
from tests.live import call
from tests.test_changes import follow

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only PostgreSQL lets a later transaction commit before an earlier one"
)


# --- A transaction held open while others commit (PostgreSQL) ---------------------------------------------------
@contextmanager
def held_transaction():
    """A second connection whose transaction stays open until the block ends, then commits."""
    held = psycopg2.connect(**connection.get_connection_params())
    try:
        with held.cursor() as cursor:
            yield cursor
        held.commit()
    finally:
        held.close()


def late_commit_seen_by_reader(client, make_task) -> tuple[list[str], list[str]]:
    """A write takes its position, a later write commits, the reader polls, then the first commits and the reader
    polls again: the titles the reader got while the first was open, and after."""
    task = make_task(user_id="alice", title="early")
    _, cursor = follow(client)
    while_open = []
    with held_transaction() as late:
        late.execute("UPDATE tasks_task SET title = 'committed late' WHERE id = %s", [str(task.id)])
        assert client.post("/api/tasks", {"title": "committed first"}, format="json").status_code == 201
        for _ in range(3):
            pages, cursor = follow(client, since=cursor)
            while_open += [change["title"] for body in pages for change in body["changes"]]
    pages, cursor = follow(client, since=cursor)
    return while_open, sorted(change["title"] for body in pages for change in body["changes"])


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_write_that_commits_late_still_reaches_a_reader_that_polled_meanwhile(alice, make_task):
    while_open, after = late_commit_seen_by_reader(alice, make_task)
    # The later write is held back while the earlier transaction is open (delivering it would move the cursor past
    # the earlier one's position), then both arrive.
    assert (while_open, after) == ([], ["committed first", "committed late"])


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_without_the_horizon_the_late_commit_is_lost(alice, make_task, monkeypatch):
    """The broken variant (the cursor as the largest position seen, ignoring transactions in flight) loses the late
    commit, and fails the test above: the horizon is what that test checks."""
    monkeypatch.setitem(changes.HORIZON_SQL, "postgresql", "SELECT 9223372036854775807")
    changes.page_statement.cache_clear()
    try:
        assert late_commit_seen_by_reader(alice, make_task) == (["committed first"], [])
    finally:
        changes.page_statement.cache_clear()


# --- Writers and a reader against a multi-worker server ---------------------------------------------------------------
WRITERS = 3
OPERATIONS = 30


def write_randomly(base_url: str, token: str, seed: int) -> None:
    """A seeded mix of creates, edits, flips and deletes of this writer's tasks."""
    rng = random.Random(seed)  # noqa: S311 (seeded test data, not a secret)
    auth = [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")]
    mine: list[str] = []
    for n in range(OPERATIONS):
        action = rng.choice(["create", "create", "edit", "flip", "delete"]) if mine else "create"
        if action == "create":
            body = json.dumps({"title": f"writer {seed} task {n}"}).encode()
            response = call(base_url, "POST", "/api/tasks", headers=auth, body=body)
            assert response.status == 201, response.body
            mine.append(response.json()["id"])
            continue
        task_id = rng.choice(mine)
        if action == "edit":
            body = json.dumps({"title": f"writer {seed} edit {n}"}).encode()
            status = call(base_url, "PATCH", f"/api/tasks/{task_id}", headers=auth, body=body).status
        elif action == "flip":
            status = call(base_url, "PATCH", f"/api/tasks/{task_id}/complete", headers=auth).status
        else:
            status = call(base_url, "DELETE", f"/api/tasks/{task_id}", headers=auth).status
            mine.remove(task_id)
        assert status in {200, 204}, status


def read_feed(base_url: str, token: str, state: dict, cursor: str | None) -> tuple[str, bool]:
    """One page applied to `state` (id -> task): changes replace, deletions remove. The next cursor, has_more."""
    query = f"?{urlencode({'since': cursor})}" if cursor else ""
    response = call(base_url, "GET", f"/api/tasks/changes{query}", headers=[("Authorization", f"Bearer {token}")])
    assert response.status == 200, response.body
    body = response.json()
    for task in body["changes"]:
        state[task["id"]] = task
    for deleted in body["deleted"]:
        state.pop(deleted["id"], None)
    return body["cursor"], body["has_more"]


def stored_tasks(database_url: str, user_id: str) -> dict[str, tuple[str, bool, int]]:
    """{id: (title, completed, version)} as the database holds them."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(urlsplit(database_url).path) as db:
            sql = "SELECT id, title, completed, version FROM tasks_task WHERE user_id = ?"
            rows = db.execute(sql, [user_id]).fetchall()
        return {str(uuid.UUID(hex=task_id)): (title, bool(done), version) for task_id, title, done, version in rows}
    rows = Task.objects.filter(user_id=user_id).values_list("id", "title", "completed", "version")
    return {str(task_id): (title, done, version) for task_id, title, done, version in rows}


def test_a_reader_following_the_feed_ends_with_the_database_tasks(start_server, server_database, make_token):
    server = start_server("--workers", "3", "--threads", "2")
    token = make_token(sub="syncer", alg="HS256")
    writers = [
        threading.Thread(target=write_randomly, args=(server.url, token, seed), daemon=True) for seed in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    state: dict[str, dict] = {}
    cursor, polls = None, 0
    while any(writer.is_alive() for writer in writers) and polls < 2000:  # bounded: writers finish in seconds
        cursor, _ = read_feed(server.url, token, state, cursor)
        polls += 1
    for writer in writers:
        writer.join(timeout=60)
    has_more = True
    while has_more:
        cursor, has_more = read_feed(server.url, token, state, cursor)
    assert polls > 1
    # The version too: a reader that missed an edit or a flip, or got one twice out of order, would hold another.
    copied = {task_id: (task["title"], task["completed"], task["version"]) for task_id, task in state.items()}
    assert copied == stored_tasks(server_database, "syncer")
    assert len(copied) > 0
