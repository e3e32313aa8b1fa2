"""Retry-safe writes: a create or a flip sent with an Idempotency-Key runs once, its retries replay its response."""

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.response import Response

from tasks import idempotency
from tasks.models import IdempotentRequest, Task
from tests.live import call, call_together, held_by_another_connection

pytestmark = pytest.mark.django_db


def create(client, body: dict, *, key: str | None, path: str = "/api/tasks"):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, body, format="json", **headers)


def flip(client, task_id, *, key: str, body: dict | None = None, path: str = "/api/tasks"):
    return client.patch(f"{path}/{task_id}/complete", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retried_create_replays_the_first_response_and_creates_one_task(alice):
    first = create(alice, {"title": "Buy milk"}, key="create-1")
    retry = create(alice, {"title": "Buy milk"}, key="create-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert [str(task_id) for task_id in Task.objects.values_list("id", flat=True)] == [first.json()["id"]]
    assert IdempotentRequest.objects.get().status == 201
    # The retry's own write was rolled back unseen: the count and the changes feed know one task.
    assert alice.get("/api/tasks").json()["count"] == 1
    assert [task["id"] for task in alice.get("/api/tasks/changes").json()["changes"]] == [first.json()["id"]]


def test_a_retry_by_the_other_route_family_and_other_json_spelling_replays(alice):
    first = create(alice, {"title": "Buy milk", "description": None}, key="k")
    retry = alice.post(
        "/api/alice/tasks/",
        '{ "description" : null,  "title": "Buy milk" }',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Task.objects.count() == 1


def test_the_same_key_with_another_request_is_a_422_and_writes_nothing(alice, make_task):
    create(alice, {"title": "Buy milk"}, key="k")
    other_body = create(alice, {"title": "Buy bread"}, key="k")
    other_operation = flip(alice, make_task(user_id="alice").id, key="k")
    for response in (other_body, other_operation):
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert detail.startswith("This Idempotency-Key was used for a different request")
        assert response.json() == {
            "detail": detail,
            "code": "idempotency_key_reused",
            "errors": {"Idempotency-Key": [detail]},
        }
    assert sorted(Task.objects.values_list("title", flat=True)) == ["A task", "Buy milk"]
    assert Task.objects.get(title="A task").completed is False


def test_keys_belong_to_their_user(alice, bob):
    assert create(alice, {"title": "Alice's"}, key="k").status_code == 201
    response = create(bob, {"title": "Bob's"}, key="k")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert sorted(Task.objects.values_list("user_id", "title")) == [("alice", "Alice's"), ("bob", "Bob's")]


def test_a_failed_request_keeps_nothing_and_its_key_can_be_used_again(alice):
    assert create(alice, {"title": ""}, key="k").status_code == 422
    assert not IdempotentRequest.objects.exists()
    response = create(alice, {"title": "Fixed"}, key="k")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert list(Task.objects.values_list("title", flat=True)) == ["Fixed"]


def test_a_retried_flip_flips_once(alice, make_task):
    task = make_task(user_id="alice")
    first = flip(alice, task.id, key="flip-1")
    # The same task spelled without dashes and in capitals, by the other route family: the same request.
    retry = flip(alice, task.id.hex.upper(), key="flip-1", path="/api/alice/tasks")
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.json()["completed"] is True
    assert retry["Idempotent-Replayed"] == "true"
    assert Task.objects.get(pk=task.pk).completed is True
    assert flip(alice, task.id, key="flip-2").json()["completed"] is False  # a new key is a new flip


def test_a_flip_and_a_set_are_different_requests(alice, make_task):
    task = make_task(user_id="alice")
    assert flip(alice, task.id, key="k").status_code == 200
    response = flip(alice, task.id, key="k", body={"completed": True})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


def test_a_flip_of_a_missing_task_keeps_nothing(alice):
    response = flip(alice, "00000000-0000-0000-0000-000000000000", key="k")
    assert response.status_code == 404
    assert not IdempotentRequest.objects.exists()


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "clé", "tab\there", "new\x7fline"],
    ids=["empty", "too-long", "non-ascii", "control", "delete"],
)
def test_a_malformed_key_is_a_422_and_writes_nothing(alice, key):
    response = create(alice, {"title": "Buy milk"}, key=key)
    assert response.status_code == 422
    assert response.json()["errors"] == {"Idempotency-Key": ["Must be 1 to 255 printable ASCII characters."]}
    assert not Task.objects.exists()
    assert not IdempotentRequest.objects.exists()


def test_the_longest_and_the_oddest_printable_keys_are_accepted(alice):
    for key in ["x" * 255, " ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"]:
        assert create(alice, {"title": "t"}, key=key).status_code == 201
    assert Task.objects.count() == 2


def test_without_the_header_nothing_is_kept(alice, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert create(alice, {"title": "Buy milk"}, key=None).status_code == 201
    assert not IdempotentRequest.objects.exists()


def test_kept_responses_are_forgotten_after_a_day_and_not_before(alice):
    create(alice, {"title": "old"}, key="old")
    create(alice, {"title": "new"}, key="new")
    IdempotentRequest.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    IdempotentRequest.objects.filter(key="new").update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    call_command("forget_sync_history")
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]


# --- Over real HTTP: parallel duplicates on several workers, and a restart --------------------------------------------
# The servers write to the test database itself on PostgreSQL (server_database): these tests commit, and are flushed.
CLIENTS = 8
live = pytest.mark.django_db(transaction=True)


@live
def test_a_duplicate_of_a_request_still_running_gets_a_409_once_the_wait_is_over(alice, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's answer: on SQLite a duplicate waits for the one writer, as every write does")
    monkeypatch.setattr(idempotency, "IN_FLIGHT_WAIT_MS", 200)
    body = {"title": "Buy milk"}
    print_ = idempotency.fingerprint(operation="create", target="tasks", body=body)
    # What the first request's transaction holds between keeping its response and its commit; then it fails.
    first = Response({"title": "Buy milk"}, status=201)
    with held_by_another_connection(lambda: idempotency.keep("alice", "slow", print_, first)):
        duplicate = create(alice, body, key="slow")
    assert duplicate.status_code == 409
    assert duplicate.json() == {"detail": duplicate.json()["detail"], "code": "idempotency_key_in_flight"}
    assert duplicate["Retry-After"] == "1"
    assert not Task.objects.exists()
    # The first request failed and kept nothing: the retry the 409 asked for runs, once.
    assert create(alice, body, key="slow").status_code == 201
    assert create(alice, body, key="slow")["Idempotent-Replayed"] == "true"
    assert Task.objects.count() == 1


@live
def test_parallel_identical_creates_with_one_key_make_one_task(start_server, make_token):
    server = start_server("--workers", "2", "--threads", "4")
    headers = [
        ("Authorization", f"Bearer {make_token(sub='one-key-creator', alg='HS256')}"),
        ("Content-Type", "application/json"),
        ("Idempotency-Key", "one-create"),
    ]
    statuses = call_together(
        server.url, "POST", "/api/tasks", headers=headers, count=CLIENTS, body=b'{"title": "only once"}'
    )
    assert statuses == [201] * CLIENTS
    listed = call(server.url, "GET", "/api/tasks", headers=headers[:1]).json()
    assert [task["title"] for task in listed["results"]] == ["only once"]


@live
def test_parallel_identical_flips_with_one_key_flip_once(start_server, make_token):
    server = start_server("--workers", "2", "--threads", "4")
    auth = ("Authorization", f"Bearer {make_token(sub='flipper', alg='HS256')}")
    created = call(
        server.url, "POST", "/api/tasks", headers=[auth, ("Content-Type", "application/json")], body=b'{"title": "t"}'
    )
    path = f"/api/tasks/{created.json()['id']}"
    statuses = call_together(
        server.url, "PATCH", f"{path}/complete", headers=[auth, ("Idempotency-Key", "one-flip")], count=CLIENTS
    )
    assert statuses == [200] * CLIENTS
    assert call(server.url, "GET", path, headers=[auth]).json()["completed"] is True


@live
def test_a_retry_after_a_restart_still_replays(start_server, make_token):
    headers = [
        ("Authorization", f"Bearer {make_token(sub='restarter', alg='HS256')}"),
        ("Content-Type", "application/json"),
        ("Idempotency-Key", "survives"),
    ]
    body = json.dumps({"title": "before the restart"}).encode()
    first_server = start_server()
    first = call(first_server.url, "POST", "/api/tasks", headers=headers, body=body)
    first_server.stop()
    retry = call(start_server().url, "POST", "/api/tasks", headers=headers, body=body)
    assert (first.status, retry.status) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_a_keyed_flip_waits_for_another_sqlite_writer(start_gunicorn, production_database, make_token):
    """A keyed flip reads the task, then writes, in one transaction. On SQLite a transaction that read and then
    waits to write while another writer commits is a deadlock SQLite breaks by failing it (a 503): the transaction
    takes the write lock when it begins instead (settings: transaction_mode IMMEDIATE), and waits its turn."""
    server = start_gunicorn("--workers", "1", "--threads", "2")
    auth = ("Authorization", f"Bearer {make_token(sub='sqlite-flipper', alg='HS256')}")
    created = call(
        server.url, "POST", "/api/tasks", headers=[auth, ("Content-Type", "application/json")], body=b'{"title": "t"}'
    )
    path = f"/api/tasks/{created.json()['id']}/complete"
    other = sqlite3.connect(urlsplit(production_database).path, isolation_level=None, timeout=10)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer, mid-transaction
        other.execute("UPDATE tasks_task SET title = title WHERE user_id = 'nobody'")
        flip = ThreadPoolExecutor(1).submit(call, server.url, "PATCH", path, headers=[auth, ("Idempotency-Key", "k")])
        time.sleep(0.5)  # the flip has read the task and waits for the write lock
        other.execute("COMMIT")
    finally:
        other.close()
    assert flip.result(timeout=20).status == 200


def keyed_set_completed(client, task_id, *, key: str, etag: str):
    return client.patch(
        f"/api/tasks/{task_id}/complete",
        {"completed": True},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
        HTTP_IF_MATCH=etag,
    )


def test_a_retry_replays_although_running_it_again_would_be_a_412(alice, make_task):
    """The first request moved the version past its own If-Match; its retry still gets its answer."""
    task = make_task(user_id="alice")
    first = keyed_set_completed(alice, task.id, key="k", etag='"1"')
    retry = keyed_set_completed(alice, task.id, key="k", etag='"1"')
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert (retry["Idempotent-Replayed"], retry["ETag"]) == ("true", '"2"')
    assert Task.objects.get(pk=task.pk).version == 2


def test_a_retry_replays_although_the_task_was_deleted_since(alice, make_task):
    task = make_task(user_id="alice")
    first = flip(alice, task.id, key="k")
    assert alice.delete(f"/api/tasks/{task.id}").status_code == 204
    retry = flip(alice, task.id, key="k")
    assert (retry.status_code, retry.json(), retry["Idempotent-Replayed"]) == (200, first.json(), "true")
    assert not Task.objects.filter(pk=task.pk).exists()


def test_a_retry_whose_write_fails_without_a_kept_answer_gets_its_own_error(alice, make_task):
    task = make_task(user_id="alice", version=5)
    assert keyed_set_completed(alice, task.id, key="k", etag='"1"').status_code == 412
    assert not IdempotentRequest.objects.exists()
