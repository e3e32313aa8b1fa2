"""Conditional requests: every single-task answer carries `ETag: "<version>"`; If-None-Match gives 304 on a read;
If-Match makes a write happen only on the version named, atomically, so of racing writers exactly one wins."""

import json

import pytest

from tasks.models import Task
from tests.live import call, call_together

pytestmark = pytest.mark.django_db

WRITES = {
    "put": lambda client, path, headers: client.put(path, {"title": "Changed"}, format="json", **headers),
    "patch": lambda client, path, headers: client.patch(path, {"title": "Changed"}, format="json", **headers),
    "complete": lambda client, path, headers: client.patch(f"{path}/complete", **headers),
    "delete": lambda client, path, headers: client.delete(path, **headers),
}


def if_match(value: str) -> dict:
    return {"HTTP_IF_MATCH": value}


@pytest.mark.parametrize(
    "send",
    [
        lambda client, task: client.get(f"/api/tasks/{task.id}"),
        lambda client, task: client.post("/api/tasks", {"title": "New"}, format="json"),
        lambda client, task: client.put(f"/api/tasks/{task.id}", {"title": "Changed"}, format="json"),
        lambda client, task: client.patch(f"/api/alice/tasks/{task.id}", {"title": "Changed"}, format="json"),
        lambda client, task: client.patch(f"/api/tasks/{task.id}/complete"),
    ],
    ids=["get", "post", "put", "patch", "complete"],
)
def test_every_single_task_answer_has_its_version_as_etag(alice, make_task, send):
    response = send(alice, make_task(user_id="alice"))
    assert response.status_code in {200, 201}
    assert response["ETag"] == f'"{response.json()["version"]}"'


def test_lists_and_deletes_carry_no_etag(alice, make_task):
    task = make_task(user_id="alice")
    assert "ETag" not in alice.get("/api/tasks")
    assert "ETag" not in alice.delete(f"/api/tasks/{task.id}")


@pytest.mark.parametrize("header", ['"1"', 'W/"1"', '"7", "1"', "*"])
def test_a_read_naming_the_current_etag_is_304_with_no_body(alice, make_task, header):
    task = make_task(user_id="alice")
    response = alice.get(f"/api/tasks/{task.id}", HTTP_IF_NONE_MATCH=header)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == '"1"'


def test_a_read_naming_an_old_etag_gets_the_task(alice, make_task):
    task = make_task(user_id="alice")
    alice.patch(f"/api/tasks/{task.id}", {"title": "Changed"}, format="json")
    response = alice.get(f"/api/tasks/{task.id}", HTTP_IF_NONE_MATCH='"1"')
    assert response.status_code == 200
    assert (response.json()["title"], response["ETag"]) == ("Changed", '"2"')


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("header", ['"1"', '"5", "1"', "*"])
def test_a_write_naming_the_current_etag_happens(alice, make_task, method, header):
    task = make_task(user_id="alice")
    response = WRITES[method](alice, f"/api/tasks/{task.id}", if_match(header))
    assert response.status_code in {200, 204}
    if method == "delete":
        assert not Task.objects.filter(pk=task.pk).exists()
    else:
        assert response["ETag"] == '"2"'
        assert Task.objects.get(pk=task.pk).version == 2


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("header", ['"2"', 'W/"1"', "1", '"x"'], ids=["stale", "weak", "unquoted", "not-a-version"])
def test_a_write_naming_another_etag_is_412_and_changes_nothing(alice, make_task, method, header):
    task = make_task(user_id="alice", title="Original")
    response = WRITES[method](alice, f"/api/tasks/{task.id}", if_match(header))
    assert response.status_code == 412
    assert response.json() == {"detail": response.json()["detail"], "code": "precondition_failed"}
    stored = Task.objects.get(pk=task.pk)
    assert (stored.title, stored.completed, stored.version) == ("Original", False, 1)


@pytest.mark.parametrize("method", WRITES)
def test_a_conditional_write_to_a_missing_task_is_404(alice, make_task, method):
    task = make_task(user_id="bob")  # another user's: missing for alice
    response = WRITES[method](alice, f"/api/tasks/{task.id}", if_match('"1"'))
    assert response.status_code == 404
    assert Task.objects.get(pk=task.pk).version == 1


def test_the_two_tabs_story(alice, make_task):
    """Two tabs read version 1; the first saves, the second's save is refused until it reads again."""
    task = make_task(user_id="alice", title="Buy milk")
    first = alice.patch(f"/api/tasks/{task.id}", {"title": "Buy oat milk"}, format="json", **if_match('"1"'))
    second = alice.patch(f"/api/tasks/{task.id}", {"title": "Buy soy milk"}, format="json", **if_match('"1"'))
    assert (first.status_code, second.status_code) == (200, 412)
    fresh = alice.get(f"/api/tasks/{task.id}")
    again = alice.patch(f"/api/tasks/{task.id}", {"title": "Buy soy milk"}, format="json", **if_match(fresh["ETag"]))
    assert (again.status_code, again.json()["version"]) == (200, 3)
    assert Task.objects.get(pk=task.pk).title == "Buy soy milk"


@pytest.mark.parametrize("method", ["patch", "complete", "delete"])
def test_if_match_is_decided_under_the_writes_own_lock(alice, make_task, statements, method):
    task = make_task(user_id="alice")
    with statements() as sent:
        assert WRITES[method](alice, f"/api/tasks/{task.id}", if_match('"1"')).status_code in {200, 204}
    assert sent == [statements.lock, "DELETE" if method == "delete" else "UPDATE"]


def test_if_none_match_costs_no_extra_query(alice, make_task, django_assert_num_queries):
    task = make_task(user_id="alice")
    with django_assert_num_queries(1):
        assert alice.get(f"/api/tasks/{task.id}", HTTP_IF_NONE_MATCH='"1"').status_code == 304


def test_a_replayed_create_carries_the_kept_etag(alice):
    first = alice.post("/api/tasks", {"title": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    retry = alice.post("/api/tasks", {"title": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert first["ETag"] == retry["ETag"] == '"1"'


# --- Over real HTTP: racing writers with the same If-Match on several workers -----------------------------------------
CLIENTS = 8


# The servers write to the test database itself on PostgreSQL (server_database): this test commits, and is flushed.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("PATCH", "", b'{"title": "mine"}'), ("PATCH", "/complete", None), ("DELETE", "", None)],
    ids=["patch", "complete", "delete"],
)
def test_of_racing_writes_with_the_same_if_match_exactly_one_wins(start_server, make_token, method, suffix, body):
    server = start_server("--workers", "2", "--threads", "4")
    # A user of its own: on SQLite every server of the session shares one database file.
    auth = ("Authorization", f"Bearer {make_token(sub=f'if-match-{method}{suffix}', alg='HS256')}")
    json_headers = [auth, ("Content-Type", "application/json")]
    created = call(server.url, "POST", "/api/tasks", headers=json_headers, body=json.dumps({"title": "t"}).encode())
    path = f"/api/tasks/{created.json()['id']}"
    statuses = call_together(
        server.url, method, path + suffix, headers=[*json_headers, ("If-Match", '"1"')], count=CLIENTS, body=body
    )
    # The others find the version moved on (412), or for a delete the task gone (404).
    winner, losers = (204, 404) if method == "DELETE" else (200, 412)
    assert sorted(statuses) == [winner] + [losers] * (CLIENTS - 1)
    after = call(server.url, "GET", path, headers=[auth])
    if method == "DELETE":
        assert after.status == 404
    else:
        assert after.json()["version"] == 2


@pytest.mark.parametrize("sent", ['"02"', '"2.0"', '"+2"', 'W/"2"', "2"])
@pytest.mark.parametrize("method", ["patch", "complete", "delete"])
def test_if_match_compares_etags_as_exact_strings(alice, make_task, method, sent):
    """`"02"` names no version: the ETag is the string `"2"`, and RFC 9110's strong comparison is of strings."""
    task = make_task(user_id="alice", version=2)
    assert WRITES[method](alice, f"/api/tasks/{task.id}", if_match(sent)).status_code == 412
    assert Task.objects.get(pk=task.pk).version == 2
