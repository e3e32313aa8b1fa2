"""CRUD and the complete action through both route families, with and without a trailing slash."""

import uuid
from datetime import UTC, datetime

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db

FAMILIES = ["/api/tasks", "/api/alice/tasks"]
SLASHES = ["", "/"]


@pytest.fixture(params=[(family, slash) for family in FAMILIES for slash in SLASHES], ids=lambda p: p[0] + p[1])
def route(request):
    family, slash = request.param
    return lambda *parts: "/".join([family, *map(str, parts)]) + slash


def test_create_returns_201_with_the_task_and_its_location(alice, route):
    response = alice.post(route(), {"title": "  Buy milk  ", "description": "2 litres"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Buy milk"
    assert body["description"] == "2 litres"
    assert body["completed"] is False
    assert body["user_id"] == "alice"
    assert body["created_at"].endswith("Z")
    assert body["updated_at"].endswith("Z")
    assert response["Location"] == f"http://testserver{route(body['id']).rstrip('/')}"
    task = Task.objects.get(pk=body["id"])
    assert (task.user_id, task.title, task.description) == ("alice", "Buy milk", "2 litres")


def test_location_of_a_created_task_can_be_fetched(alice, route):
    location = alice.post(route(), {"title": "Read"}, format="json")["Location"]
    assert alice.get(location).json()["title"] == "Read"


def test_server_fields_in_the_body_are_ignored(alice, route):
    sent = {
        "title": "Mine",
        "id": str(uuid.uuid4()),
        "user_id": "bob",
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
        "owner": "bob",
    }
    body = alice.post(route(), sent, format="json").json()
    assert body["id"] != sent["id"]
    assert body["user_id"] == "alice"
    assert not body["created_at"].startswith("2000")
    assert Task.objects.get().user_id == "alice"


def test_get_one(alice, route, make_task):
    done = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    task = make_task(user_id="alice", title="Walk", description=None, completed=True, completed_at=done)
    response = alice.get(route(task.id))
    assert response.status_code == 200
    assert response.json() == {
        "id": str(task.id),
        "user_id": "alice",
        "title": "Walk",
        "description": None,
        "completed": True,
        "due_at": None,
        "priority": "none",
        "tags": [],
        "completed_at": "2026-03-01T12:30:00Z",
        "version": 1,
        "recurrence": None,
        "time_zone": "UTC",
        "repeat_from": "due",
        "occurrence": 1,
        "next_id": None,
        "reminders": [],
        "next_reminder_at": None,
        "created_at": task.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": task.updated_at.isoformat().replace("+00:00", "Z"),
    }


def test_put_replaces_title_and_keeps_omitted_fields(alice, route, make_task):
    task = make_task(user_id="alice", title="Old", description="keep me", completed=True)
    response = alice.put(route(task.id), {"title": "New"}, format="json")
    assert response.status_code == 200
    assert response.json()["title"] == "New"
    task.refresh_from_db()
    assert (task.title, task.description, task.completed) == ("New", "keep me", True)
    assert response.json()["updated_at"] > response.json()["created_at"]


def test_put_requires_a_title(alice, route, make_task):
    task = make_task(user_id="alice", title="Old")
    response = alice.put(route(task.id), {"completed": True}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"] == {"title": ["This field is required."]}
    task.refresh_from_db()
    assert (task.title, task.completed) == ("Old", False)


def test_patch_changes_only_the_named_fields(alice, route, make_task):
    task = make_task(user_id="alice", title="Keep", description="old")
    response = alice.patch(route(task.id), {"description": None}, format="json")
    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.title, task.description) == ("Keep", None)


def test_patch_does_not_overwrite_fields_it_does_not_name(alice, route, make_task):
    task = make_task(user_id="alice", title="Title")
    Task.objects.filter(pk=task.pk).update(completed=True)  # a concurrent change
    alice.patch(route(task.id), {"title": "Renamed"}, format="json")
    task.refresh_from_db()
    assert (task.title, task.completed) == ("Renamed", True)


def test_delete_returns_204_with_an_empty_body_and_the_task_is_gone(alice, route, make_task):
    task = make_task(user_id="alice")
    response = alice.delete(route(task.id))
    assert response.status_code == 204
    assert response.content == b""
    assert not Task.objects.filter(pk=task.pk).exists()
    assert alice.get(route(task.id)).status_code == 404
    assert alice.delete(route(task.id)).status_code == 404


def test_complete_without_a_body_flips_the_state(alice, route, make_task):
    task = make_task(user_id="alice")
    first = alice.patch(route(task.id, "complete"))
    assert first.status_code == 200
    assert first.json()["completed"] is True
    second = alice.patch(route(task.id, "complete"), format="json")
    assert second.json()["completed"] is False
    task.refresh_from_db()
    assert task.completed is False


@pytest.mark.parametrize("value", [True, False])
def test_complete_with_a_value_sets_it(alice, route, make_task, value):
    task = make_task(user_id="alice", completed=not value)
    for _ in range(2):
        response = alice.patch(route(task.id, "complete"), {"completed": value}, format="json")
        assert response.status_code == 200
        assert response.json()["completed"] is value
    task.refresh_from_db()
    assert task.completed is value


@pytest.mark.parametrize("body", [{"completed": "yes"}, {"completed": None}, {"completed": 1}])
def test_complete_with_a_bad_value_is_422(alice, route, make_task, body):
    task = make_task(user_id="alice")
    response = alice.patch(route(task.id, "complete"), body, format="json")
    assert response.status_code == 422
    assert "completed" in response.json()["errors"]
    task.refresh_from_db()
    assert task.completed is False


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_to_a_missing_task_are_404_and_create_nothing(alice, route, method):
    url = route(uuid.uuid4()) if method != "post" else route(uuid.uuid4(), "complete")
    response = getattr(alice, method)(url, {"title": "x"}, format="json")
    assert response.status_code in {404, 405}
    assert Task.objects.count() == 0


@pytest.mark.parametrize(
    "task_id",
    [
        "not-a-uuid",
        "123",
        "00000000-0000-0000-0000-00000000000g",
        "%00",
        "..%2f",
        "00000000-0000-0000-0000-0000000000000",
        "%7B00000000-0000-0000-0000-000000000000%7D",
        "urn:uuid:00000000-0000-0000-0000-000000000000",
        "%EF%BC%90" * 32,
        "a" * 5000,
    ],
)
def test_malformed_task_ids_are_404(alice, route, task_id):
    for method in ["get", "put", "patch", "delete"]:
        response = getattr(alice, method)(route(task_id), {"title": "x"}, format="json")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_post_without_trailing_slash_does_not_redirect(alice):
    response = alice.post("/api/tasks", {"title": "No slash"}, format="json")
    assert response.status_code == 201
    assert Task.objects.filter(title="No slash").count() == 1


def test_update_racing_a_delete_is_404_and_does_not_resurrect(alice, route, make_task, monkeypatch):
    task = make_task(user_id="alice")
    from tasks import writes

    original = writes.change

    def delete_then_change(tasks, pk, *args, **options):
        Task.objects.filter(pk=pk).delete()  # the delete lands just before the write takes its lock
        return original(tasks, pk, *args, **options)

    monkeypatch.setattr(writes, "change", delete_then_change)
    assert alice.put(route(task.id), {"title": "Back?"}, format="json").status_code == 404
    assert not Task.objects.filter(pk=task.pk).exists()


def test_location_percent_encodes_a_user_id_with_reserved_characters(client_for):
    """A `sub` may hold `?`, `#`, `%` or a space; the Location must still name the task, not end its path early."""
    sub = "a?b#c %d"
    client = client_for(sub)
    response = client.post("/api/a%3Fb%23c%20%25d/tasks", {"title": "Odd"}, format="json")
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver/api/a%3Fb%23c%20%25d/tasks/{response.json()['id']}"
    assert client.get(response["Location"]).json()["title"] == "Odd"
