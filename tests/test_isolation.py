"""Broken object-level authorisation: a user reaches only their own tasks, whatever route, method or path."""

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db

BODY = {"title": "Hijacked", "description": "by bob", "completed": True}


def snapshot():
    return sorted(Task.objects.values_list("id", "user_id", "title", "description", "completed", "updated_at"))


def requests_on(task):
    """Every route and method that names one task, in both families (Alice's path for the user family)."""
    for base in ["/api/tasks", "/api/alice/tasks"]:
        for slash in ["", "/"]:
            yield "get", f"{base}/{task.id}{slash}", None
            yield "put", f"{base}/{task.id}{slash}", BODY
            yield "patch", f"{base}/{task.id}{slash}", BODY
            yield "delete", f"{base}/{task.id}{slash}", None
            yield "patch", f"{base}/{task.id}/complete{slash}", None
            yield "patch", f"{base}/{task.id}/complete{slash}", {"completed": True}


def test_other_users_task_is_404_on_every_route_and_unchanged(bob, make_task):
    task = make_task(user_id="alice", title="Alice's", description="private")
    before = snapshot()
    for method, url, body in requests_on(task):
        response = getattr(bob, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.json() == {"detail": "Not found."}
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_other_users_path_is_404(bob, make_task, method, slash):
    make_task(user_id="alice")
    before = snapshot()
    response = getattr(bob, method)(f"/api/alice/tasks{slash}", BODY, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert snapshot() == before


def test_other_users_path_looks_like_a_missing_task(bob, make_task):
    task = make_task(user_id="alice")
    other_path = bob.get(f"/api/alice/tasks/{task.id}")
    missing = bob.get(f"/api/bob/tasks/{task.id}")
    assert (other_path.status_code, other_path.json()) == (missing.status_code, missing.json())


def test_lists_hold_only_the_users_own_tasks(alice, bob, make_task):
    for n in range(3):
        make_task(user_id="alice", title=f"a{n}")
    make_task(user_id="bob", title="b0")
    for client, user, count in [(alice, "alice", 3), (bob, "bob", 1)]:
        for url in ["/api/tasks", f"/api/{user}/tasks"]:
            body = client.get(url).json()
            assert body["count"] == count
            assert {task["user_id"] for task in body["results"]} == {user}


def test_search_does_not_leak_other_users_tasks(bob, make_task):
    make_task(user_id="alice", title="secret plan")
    assert bob.get("/api/tasks?search=secret").json()["count"] == 0


def test_created_task_belongs_to_the_token_user_whatever_the_path_or_body(bob):
    response = bob.post("/api/bob/tasks", {**BODY, "user_id": "alice"}, format="json")
    assert response.status_code == 201
    assert Task.objects.get().user_id == "bob"


def test_users_whose_ids_differ_only_in_case_are_apart(client_for, make_task):
    make_task(user_id="Alice")
    assert client_for("alice").get("/api/tasks").json()["count"] == 0
    assert client_for("alice").get("/api/Alice/tasks").status_code == 404
