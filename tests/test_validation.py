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
    ],
)
def test_edge_titles_are_accepted(alice, title, stored):
    response = alice.post("/api/tasks", {"title": title}, format="json")
    assert response.status_code == 201
    assert Task.objects.get().title == stored


def test_description_edges_are_accepted(alice):
    for description in ["x" * 1000, "", None, "line one\nline two\twith tab"]:
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
