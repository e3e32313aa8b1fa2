"""`due_at`, `priority` and `tags`: defaults, rules and normalisation exactly as the contract says."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tasks.models import Task

pytestmark = pytest.mark.django_db


def create(client, **fields):
    return client.post("/api/tasks", {"title": "T", **fields}, format="json")


def test_a_new_task_has_no_due_date_no_priority_and_no_tags(alice):
    body = create(alice).json()
    assert (body["due_at"], body["priority"], body["tags"]) == (None, "none", [])
    task = Task.objects.get()
    assert (task.due_at, task.priority, task.tags) == (None, 0, [])


@pytest.mark.parametrize(
    ("sent", "returned"),
    [
        ("2026-12-01T17:00:00Z", "2026-12-01T17:00:00Z"),
        ("2026-12-01T19:00:00+02:00", "2026-12-01T17:00:00Z"),
        ("2026-12-01T12:00:00.250-05:00", "2026-12-01T17:00:00.250000Z"),
        ("2026-12-01T17:00Z", "2026-12-01T17:00:00Z"),
    ],
)
def test_due_at_with_a_time_zone_is_stored_and_returned_in_utc(alice, sent, returned):
    body = create(alice, due_at=sent).json()
    assert body["due_at"] == returned
    assert Task.objects.get().due_at == datetime.fromisoformat(returned)
    assert alice.get(f"/api/tasks/{body['id']}").json()["due_at"] == returned
    assert alice.get("/api/tasks").json()["results"][0]["due_at"] == returned


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ("2026-12-01T17:00:00", "time zone"),
        ("2026-12-01", "time zone"),
        ("tomorrow", "ISO 8601"),
        ("2026-02-30T10:00:00Z", "ISO 8601"),
        (1764608400, "ISO 8601"),
        (["2026-12-01T17:00:00Z"], "ISO 8601"),
    ],
)
def test_a_due_at_without_a_time_zone_or_not_a_datetime_is_422(alice, sent, message):
    response = create(alice, due_at=sent)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("due_at: ")
    assert message in response.json()["detail"]
    assert not Task.objects.exists()


def test_due_at_can_be_cleared_with_null(alice, make_task):
    task = make_task(user_id="alice", due_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert alice.patch(f"/api/tasks/{task.id}", {"due_at": None}, format="json").json()["due_at"] is None
    assert Task.objects.get().due_at is None


@pytest.mark.parametrize(("name", "rank"), [("none", 0), ("low", 1), ("medium", 2), ("high", 3)])
def test_priority_is_stored_as_its_rank_and_returned_by_name(alice, name, rank):
    body = create(alice, priority=name).json()
    assert body["priority"] == name
    assert Task.objects.get().priority == rank
    assert alice.get("/api/tasks").json()["results"][0]["priority"] == name


@pytest.mark.parametrize("sent", ["urgent", "High", "", None, 3, ["high"]])
def test_an_unknown_priority_is_422(alice, sent):
    response = create(alice, priority=sent)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("priority: ")
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (["work", "  home  "], ["work", "home"]),
        (["Work", "urgent", "WORK", "work", "Urgent"], ["Work", "urgent"]),
        (["Straße", "STRASSE"], ["Straße"]),
        (["é", "É"], ["é"]),
        (["x" * 32], ["x" * 32]),
        ([f"t{n}" for n in range(20)], [f"t{n}" for n in range(20)]),
        ([f"t{n % 20}" for n in range(40)], [f"t{n}" for n in range(20)]),
        ([], []),
    ],
)
def test_tags_are_trimmed_and_deduplicated_keeping_the_first_spelling_and_the_order(alice, sent, stored):
    body = create(alice, tags=sent).json()
    assert body["tags"] == stored
    assert Task.objects.get().tags == stored
    assert alice.get("/api/tasks").json()["results"][0]["tags"] == stored


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ([f"t{n}" for n in range(21)], "no more than 20"),
        (["x" * 33], "no more than 32"),
        (["   "], "blank"),
        ([""], "blank"),
        (["a,b"], "commas"),
        (["tab\there"], "control"),
        (["new\nline"], "control"),
        ([7], "string"),
        ([None], "null"),
        ("work", "list"),
        (None, "null"),
    ],
)
def test_bad_tags_are_422(alice, sent, message):
    response = create(alice, tags=sent)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("tags: ")
    assert message in body["detail"]
    assert not Task.objects.exists()


def test_a_patch_of_tags_replaces_them_and_keeps_the_other_fields(alice, make_task):
    task = make_task(user_id="alice", tags=["a"], priority=3)
    body = alice.patch(f"/api/tasks/{task.id}", {"tags": ["B", "b", "c"]}, format="json").json()
    assert body["tags"] == ["B", "c"]
    assert body["priority"] == "high"
    task.refresh_from_db()
    assert (task.tags, task.tag_keys, task.priority) == (["B", "c"], ["b", "c"], 3)


def test_put_keeps_omitted_new_fields(alice, make_task):
    due = datetime(2026, 5, 1, 9, tzinfo=UTC)
    task = make_task(user_id="alice", tags=["a"], priority=2, due_at=due)
    body = alice.put(f"/api/tasks/{task.id}", {"title": "Only the title"}, format="json").json()
    assert (body["tags"], body["priority"], body["due_at"]) == (["a"], "medium", "2026-05-01T09:00:00Z")


@pytest.mark.django_db(transaction=True)
def test_a_task_written_before_the_fields_existed_reads_with_their_defaults(client_for):
    executor = MigrationExecutor(connection)
    executor.migrate([("tasks", "0007_fill_completed_at")])
    try:
        old = MigrationExecutor(connection).loader.project_state(("tasks", "0007_fill_completed_at")).apps
        old.get_model("tasks", "Task").objects.create(user_id="old", title="From before")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    body = client_for("old").get("/api/tasks").json()["results"][0]
    assert (body["due_at"], body["priority"], body["tags"], body["version"]) == (None, "none", [], 1)
    assert client_for("old").get("/api/tags").json() == {"results": []}
    assert [t["title"] for t in client_for("old").get("/api/tasks?priority=none&overdue=false").json()["results"]] == [
        "From before"
    ]
