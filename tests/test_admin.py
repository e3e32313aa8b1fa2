"""The Django admin, for inspecting tasks."""

import pytest

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
