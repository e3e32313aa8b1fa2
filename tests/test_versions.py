"""`version` (1 on create, + 1 on every change) and `completed_at` (kept by the server on every route)."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tasks import writes
from tasks.models import Task

pytestmark = pytest.mark.django_db

CHANGES = {
    "PUT": ("put", "", {"title": "Renamed"}),
    "PATCH": ("patch", "", {"description": "more"}),
    "PATCH completed": ("patch", "", {"completed": True}),
    "flip": ("patch", "/complete", None),
    "set completed": ("patch", "/complete", {"completed": True}),
}


def change(client, task_id, name: str):
    method, suffix, body = CHANGES[name]
    return getattr(client, method)(f"/api/tasks/{task_id}{suffix}", body, format="json")


def stored(task_id) -> Task:
    return Task.objects.get(pk=task_id)


@pytest.mark.parametrize("completed", [False, True])
def test_a_new_task_is_version_1_and_completed_at_follows_its_state(alice, completed):
    before = timezone.now()
    body = alice.post("/api/tasks", {"title": "New", "completed": completed}, format="json").json()
    assert body["version"] == 1
    task = stored(body["id"])
    assert task.version == 1
    if completed:
        assert before <= task.completed_at <= timezone.now()
        assert body["completed_at"] == task.completed_at.isoformat().replace("+00:00", "Z")
    else:
        assert body["completed_at"] is None
        assert task.completed_at is None


@pytest.mark.parametrize("name", CHANGES)
def test_every_change_adds_one_to_the_version_and_sending_it_again_changes_nothing(alice, make_task, name):
    """A flip always changes the task; sending any other change again finds nothing to change."""
    task = make_task(user_id="alice")
    for expected in (2, 3 if name == "flip" else 2):
        response = change(alice, task.id, name)
        assert response.status_code == 200
        assert response.json()["version"] == expected
        assert response["ETag"] == f'"{expected}"'
        assert stored(task.id).version == expected


@pytest.mark.parametrize("body", [{}, {"title": "Same"}, {"title": "Same", "tags": ["a"], "completed": False}])
def test_a_write_that_changes_nothing_keeps_version_time_and_feed_position(alice, make_task, body):
    """Nothing written: every client's ETag stays valid and the changes feed does not send the task again."""
    task = make_task(user_id="alice", title="Same", tags=["a"])
    before = stored(task.id)
    response = alice.patch(f"/api/tasks/{task.id}", body, format="json")
    assert response.status_code == 200
    assert (response.json()["version"], response["ETag"]) == (1, '"1"')
    after = stored(task.id)
    assert (after.version, after.updated_at, after.change_position) == (1, before.updated_at, before.change_position)


def test_reads_and_refused_writes_leave_the_version_alone(alice, make_task):
    task = make_task(user_id="alice")
    alice.get(f"/api/tasks/{task.id}")
    alice.get("/api/tasks")
    assert alice.patch(f"/api/tasks/{task.id}", {"title": ""}, format="json").status_code == 422
    assert stored(task.id).version == 1


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_version_and_completed_at_sent_by_a_client_are_ignored(alice, make_task, method):
    task = make_task(user_id="alice")
    sent = {"title": "Mine", "version": 99, "completed_at": "2000-01-01T00:00:00Z"}
    path = "/api/tasks" if method == "post" else f"/api/tasks/{task.id}"
    body = getattr(alice, method)(path, sent, format="json").json()
    assert body["version"] == (1 if method == "post" else 2)
    assert body["completed_at"] is None
    assert stored(body["id"]).completed_at is None


@pytest.mark.parametrize("name", ["PATCH completed", "flip", "set completed"])
def test_completing_sets_completed_at_and_reopening_clears_it(alice, make_task, name):
    task = make_task(user_id="alice")
    before = timezone.now()
    body = change(alice, task.id, name).json()
    completed_at = stored(task.id).completed_at
    assert before <= completed_at <= timezone.now()
    assert body["completed"] is True
    assert body["completed_at"] == completed_at.isoformat().replace("+00:00", "Z")

    reopen = alice.patch(f"/api/tasks/{task.id}/complete").json()
    assert reopen["completed"] is False
    assert reopen["completed_at"] is None
    assert stored(task.id).completed_at is None


@pytest.mark.parametrize("name", ["PATCH completed", "set completed"])
def test_completing_a_completed_task_keeps_its_completion_time(alice, make_task, name):
    then = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    task = make_task(user_id="alice", completed=True, completed_at=then)
    body = change(alice, task.id, name).json()
    assert body["completed_at"] == "2026-01-02T03:04:05Z"
    assert stored(task.id).completed_at == then


def test_other_changes_leave_completed_at_alone(alice, make_task):
    then = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    task = make_task(user_id="alice", completed=True, completed_at=then)
    alice.put(f"/api/tasks/{task.id}", {"title": "Renamed"}, format="json")
    alice.patch(f"/api/tasks/{task.id}", {"description": "d"}, format="json")
    assert stored(task.id).completed_at == then


def test_put_that_reopens_clears_completed_at(alice, make_task):
    task = make_task(user_id="alice", completed=True, completed_at=timezone.now())
    body = alice.put(f"/api/tasks/{task.id}", {"title": "Again", "completed": False}, format="json").json()
    assert body["completed_at"] is None
    assert stored(task.id).completed_at is None


@pytest.mark.parametrize("name", CHANGES)
def test_a_change_that_lands_first_is_kept_and_counted(alice, make_task, monkeypatch, name):
    """Another request changes the task just before this one takes its lock: this one decides on what it finds
    there, so both changes land and the version counts both."""
    task = make_task(user_id="alice", title="start", description="old")
    original = writes.locked

    def someone_else_writes_then_lock(tasks, pk, **options):
        Task.objects.filter(pk=pk).update(description="theirs", version=2)
        return original(tasks, pk, **options)

    monkeypatch.setattr(writes, "locked", someone_else_writes_then_lock)
    body = change(alice, task.id, name).json()
    task = stored(task.id)
    assert (body["version"], task.version) == (3, 3)
    assert body["description"] == task.description == ("more" if name == "PATCH" else "theirs")


@pytest.mark.parametrize("name", CHANGES)
def test_a_change_racing_a_delete_is_404_and_does_not_resurrect(alice, make_task, monkeypatch, name):
    task = make_task(user_id="alice")
    original = writes.change

    def delete_then_change(tasks, pk, *args, **options):
        Task.objects.filter(pk=pk).delete()  # lands after the request read the task, before its write
        return original(tasks, pk, *args, **options)

    monkeypatch.setattr(writes, "change", delete_then_change)
    assert change(alice, task.id, name).status_code == 404
    assert not Task.objects.filter(pk=task.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_version_and_completed_at_of_existing_tasks():
    """Tasks written before the fields existed: version 1; completed_at is updated_at if completed, else null."""
    MigrationExecutor(connection).migrate([("tasks", "0005_changes_feed_idempotency")])
    try:
        old = MigrationExecutor(connection).loader.project_state(("tasks", "0005_changes_feed_idempotency")).apps
        OldTask = old.get_model("tasks", "Task")
        OldTask.objects.bulk_create(OldTask(user_id="old", title=f"t{i}", completed=i % 2 == 1) for i in range(7))
        updated = dict(OldTask.objects.values_list("title", "updated_at"))
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    for task in Task.objects.filter(user_id="old"):
        assert task.version == 1
        assert task.completed_at == (updated[task.title] if task.completed else None)
