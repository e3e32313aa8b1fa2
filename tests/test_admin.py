"""The Django admin, for inspecting tasks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks.models import TaskCount

pytestmark = pytest.mark.django_db


def test_admin_lists_and_searches_tasks(admin_client, make_task):
    make_task(user_id="alice", title="Find me")
    make_task(user_id="bob", title="Other")
    response = admin_client.get("/admin/tasks/task/", {"q": "alice"})
    assert response.status_code == 200
    assert b"Find me" in response.content
    assert b"Other" not in response.content


def test_admin_filters_by_completed(admin_client, make_task):
    make_task(user_id="alice", title="Done", completed=True)
    make_task(user_id="alice", title="Open")
    response = admin_client.get("/admin/tasks/task/", {"completed__exact": "1"})
    assert b"Done" in response.content
    assert b"Open" not in response.content


def test_admin_change_page_opens(admin_client, make_task):
    task = make_task(user_id="alice", title="Edit me")
    assert admin_client.get(f"/admin/tasks/task/{task.pk}/change/").status_code == 200


def test_admin_needs_a_staff_login(client):
    response = client.get("/admin/tasks/task/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_shows_the_task_counts_read_only(admin_client, make_task):
    make_task(user_id="alice", completed=True)
    make_task(user_id="alice")
    response = admin_client.get("/admin/tasks/taskcount/", {"q": "alice"})
    assert response.status_code == 200
    assert b"alice" in response.content
    assert admin_client.get("/admin/tasks/taskcount/add/").status_code == 403
    change = admin_client.post("/admin/tasks/taskcount/alice/change/", {"total": 99, "completed": 0})
    assert change.status_code == 403
    assert TaskCount.objects.get(user_id="alice").total == 2


def test_admin_shows_and_filters_the_new_fields(admin_client, make_task):
    now = timezone.now()
    make_task(user_id="alice", title="Late one", due_at=now - timedelta(days=1), priority=3, tags=["Work"])
    make_task(user_id="alice", title="Later one", due_at=now + timedelta(days=1), priority=1, tags=["home"])
    listing = admin_client.get("/admin/tasks/task/")
    assert listing.status_code == 200
    assert b"Work" in listing.content  # the tag filter offers it, and the column shows it
    for query, shown in [
        ({"priority__exact": "3"}, "Late one"),
        ({"overdue": "true"}, "Late one"),
        ({"overdue": "false"}, "Later one"),
        ({"tag": "work"}, "Late one"),
    ]:
        content = admin_client.get("/admin/tasks/task/", query).content.decode()
        assert shown in content
        assert ({"Late one", "Later one"} - {shown}).pop() not in content


def test_an_admin_edit_counts_as_a_change(admin_client, make_task):
    task = make_task(user_id="alice", title="Edit me")
    page = admin_client.get(f"/admin/tasks/task/{task.pk}/change/")
    assert page.status_code == 200
    form = {
        "user_id": "alice",
        "title": "Edited",
        "description": "",
        "completed": "on",
        "due_at_0": "2026-12-01",
        "due_at_1": "17:00:00",
        "priority": "2",
        "tags": '["Work", "home"]',
        "time_zone": "UTC",
        "repeat_from": "due",
        "reminders": "[]",
    }
    assert admin_client.post(f"/admin/tasks/task/{task.pk}/change/", form).status_code == 302
    task.refresh_from_db()
    assert (task.title, task.completed, task.priority, task.tags) == ("Edited", True, 2, ["Work", "home"])
    assert task.version == 2
    assert task.completed_at is not None
    assert task.tag_keys == ["work", "home"]
