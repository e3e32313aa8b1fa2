"""Input edges: every bad body is a 422 with `detail` and `errors`, and nothing is written."""

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "title", "This field is required."),
        ({"title": ""}, "title", "This field may not be blank."),
        ({"title": "   \t  "}, "title", "This field may not be blank."),
        ({"title": "x" * 101}, "title", "Ensure this field has no more than 100 characters."),
        ({"title": None}, "title", "This field may not be null."),
        ({"title": 42}, "title", "Must be a string."),
        ({"title": ["a"]}, "title", "Must be a string."),
        ({"title": {"a": 1}}, "title", "Must be a string."),
        ({"title": True}, "title", "Must be a string."),
        ({"title": "nul\x00byte"}, "title", "Must not contain control characters."),
        ({"title": "bell\x07"}, "title", "Must not contain control characters."),
        ({"title": "line\nbreak"}, "title", "Must not contain control characters."),
        ({"title": "ok", "description": "x" * 1001}, "description", "no more than 1000 characters"),
        ({"title": "ok", "description": 5}, "description", "Must be a string."),
        ({"title": "ok", "description": "esc\x1b[31m"}, "description", "Must not contain control characters."),
        ({"title": "ok", "description": "nul\x00byte"}, "description", "Must not contain control characters."),
        ({"title": "ok", "description": "del\x7f"}, "description", "Must not contain control characters."),
        ({"title": "\U0001f389" * 101}, "title", "Ensure this field has no more than 100 characters."),
        ({"title": "ok", "description": "\U0001f389" * 1001}, "description", "no more than 1000 characters"),
        ({"title": "ok", "completed": "true"}, "completed", "Must be true or false."),
        ({"title": "ok", "completed": 0}, "completed", "Must be true or false."),
    ],
)
def test_invalid_task_is_422_and_not_saved(alice, body, field, message):
    response = alice.post("/api/tasks", body, format="json")
    assert response.status_code == 422, response.content
    data = response.json()
    assert field in data["errors"]
    assert message in data["errors"][field][0]
    assert data["detail"].startswith(f"{field}: ")
    assert Task.objects.count() == 0


def test_detail_names_the_field_and_the_rule(alice):
    response = alice.post("/api/tasks", {"title": "x" * 101}, format="json")
    assert response.json() == {
        "detail": "title: Ensure this field has no more than 100 characters.",
        "errors": {"title": ["Ensure this field has no more than 100 characters."]},
    }


@pytest.mark.parametrize(
    ("title", "stored"),
    [
        ("x" * 100, "x" * 100),
        ("  padded  ", "padded"),
        ("日本語のタスク🎉", "日本語のタスク🎉"),
        ("é" * 100, "é" * 100),
        ("\U0001f389" * 100, "\U0001f389" * 100),
        ("e\u0301" * 50, "e\u0301" * 50),
        ("\u202eevil\u200b", "\u202eevil\u200b"),
    ],
)
def test_edge_titles_are_accepted(alice, title, stored):
    response = alice.post("/api/tasks", {"title": title}, format="json")
    assert response.status_code == 201
    assert Task.objects.get().title == stored


def test_description_edges_are_accepted(alice):
    for description in ["x" * 1000, "", None, "line one\nline two\twith tab", "\U0001f389" * 1000, "\u4e2d" * 1000]:
        response = alice.post("/api/tasks", {"title": "t", "description": description}, format="json")
        assert response.status_code == 201
        assert response.json()["description"] == description


@pytest.mark.parametrize("body", ["[]", '[{"title": "x"}]', '"title"', "42", "null", "true"])
def test_body_that_is_not_an_object_is_422(alice, body):
    response = alice.post("/api/tasks", body, content_type="application/json")
    assert response.status_code == 422
    assert "non_field_errors" in response.json()["errors"]
    assert Task.objects.count() == 0


def test_invalid_update_changes_nothing(alice, make_task):
    task = make_task(user_id="alice", title="Before", description="same")
    for method in ["put", "patch"]:
        response = getattr(alice, method)(f"/api/tasks/{task.id}", {"title": "", "description": "new"}, format="json")
        assert response.status_code == 422
    task.refresh_from_db()
    assert (task.title, task.description) == ("Before", "same")


def test_database_refuses_a_blank_title_written_around_the_api(make_task):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        make_task(user_id="alice", title="")


@pytest.mark.parametrize("body", ['{"title": "\\ud800"}', '{"title": "\\udfff x"}'])
def test_lone_surrogates_are_400(alice, body):
    response = alice.post("/api/tasks", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed JSON")
    assert Task.objects.count() == 0


@pytest.mark.parametrize("method", ["put", "patch"])
def test_updates_ignore_server_fields(alice, make_task, method):
    """Mass assignment: an update cannot move a task to another user, rename its id or rewrite its history."""
    task = make_task(user_id="alice", title="Mine")
    sent = {
        "title": "Still mine",
        "id": "00000000-0000-0000-0000-000000000001",
        "user_id": "bob",
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
        "is_staff": True,
    }
    response = getattr(alice, method)(f"/api/tasks/{task.id}", sent, format="json")
    assert response.status_code == 200
    assert response.json()["id"] == str(task.id)
    stored = Task.objects.get()
    assert (stored.pk, stored.user_id, stored.title) == (task.pk, "alice", "Still mine")
    assert stored.created_at == task.created_at
    assert stored.updated_at > task.updated_at


def test_complete_ignores_every_field_but_completed(alice, make_task):
    task = make_task(user_id="alice", title="Mine")
    body = {"completed": True, "title": "renamed", "user_id": "bob", "description": "x"}
    assert alice.patch(f"/api/tasks/{task.id}/complete", body, format="json").status_code == 200
    stored = Task.objects.get()
    assert (stored.title, stored.user_id, stored.description, stored.completed) == ("Mine", "alice", None, True)
