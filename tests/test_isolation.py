"""Broken object-level authorisation: a user reaches only their own tasks, whatever route, method or path."""

import pytest
from rest_framework.test import APIClient

from tasks.models import Task

pytestmark = pytest.mark.django_db

BODY = {"title": "Hijacked", "description": "by bob", "completed": True}


def snapshot():
    return sorted(Task.objects.values_list("id", "user_id", "title", "description", "completed", "updated_at"))


# Every route and method that reaches Alice's tasks, in both families and both slash forms, with the status the owner
# gets. `{id}` is Alice's task. The collection of the token-scoped family is anybody's own, so only its user-family
# twin, /api/alice/tasks, is Alice's.
OWNER_STATUS = {
    ("get", ""): 200,
    ("put", ""): 200,
    ("patch", ""): 200,
    ("delete", ""): 204,
    ("patch", "/complete"): 200,
    ("patch+value", "/complete"): 200,
}
ROUTES = [
    *(
        (method, f"{base}/{{id}}{suffix}{slash}", status)
        for base in ["/api/tasks", "/api/alice/tasks"]
        for slash in ["", "/"]
        for (method, suffix), status in OWNER_STATUS.items()
    ),
    *(("get", f"/api/alice/tasks{slash}", 200) for slash in ["", "/"]),
    *(("post", f"/api/alice/tasks{slash}", 201) for slash in ["", "/"]),
]


@pytest.mark.parametrize("actor", ["owner", "other user", "no token"])
@pytest.mark.parametrize(("method", "route", "owner_status"), ROUTES)
def test_only_the_owner_gets_through(client_for, make_task, actor, method, route, owner_status):
    task = make_task(user_id="alice", title="Alice's", description="private")
    client = {"owner": lambda: client_for("alice"), "other user": lambda: client_for("bob"), "no token": APIClient}
    body = {"completed": True} if method == "patch+value" else None if method in {"get", "delete"} else BODY
    before = snapshot()
    response = getattr(client[actor](), method.split("+")[0])(route.format(id=task.id), body, format="json")
    if actor == "owner":
        assert response.status_code == owner_status, response.content
        return
    expected = (404, {"detail": "Not found."}) if actor == "other user" else (401, None)
    assert response.status_code == expected[0], response.content
    assert expected[1] is None or response.json() == expected[1]
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
