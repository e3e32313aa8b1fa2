"""GET .../tags: every tag of the user's tasks (first spelling), with counts, most used first, then by name."""

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/tags", "/api/tags/", "/api/alice/tags", "/api/alice/tags/"])
def test_tags_are_counted_most_used_first_then_by_name(alice, make_task, path):
    make_task(user_id="alice", tags=["Work", "urgent"])
    make_task(user_id="alice", tags=["work", "home"])
    make_task(user_id="alice", tags=["WORK", "Home", "zebra"])
    make_task(user_id="alice", tags=["apple"])
    make_task(user_id="alice")
    make_task(user_id="bob", tags=["work", "bob-only"])
    response = alice.get(path)
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"name": "Work", "count": 3},
            {"name": "home", "count": 2},
            {"name": "apple", "count": 1},
            {"name": "urgent", "count": 1},
            {"name": "zebra", "count": 1},
        ]
    }


def test_the_first_spelling_is_the_one_on_the_oldest_task(alice, make_task):
    first = make_task(user_id="alice", tags=["CamelCase"])
    make_task(user_id="alice", tags=["camelcase"])
    assert alice.get("/api/tags").json()["results"] == [{"name": "CamelCase", "count": 2}]
    first.delete()
    assert alice.get("/api/tags").json()["results"] == [{"name": "camelcase", "count": 1}]


def test_a_user_without_tags_gets_an_empty_list(alice, make_task):
    make_task(user_id="alice")
    assert alice.get("/api/tags").json() == {"results": []}


def test_tags_follow_writes_through_the_api(alice):
    task = alice.post("/api/tasks", {"title": "T", "tags": ["a", "b"]}, format="json").json()
    alice.patch(f"/api/tasks/{task['id']}", {"tags": ["B", "c"]}, format="json")
    assert alice.get("/api/tags").json()["results"] == [{"name": "B", "count": 1}, {"name": "c", "count": 1}]
    assert Task.objects.get().tag_keys == ["b", "c"]


def test_another_users_tags_path_is_404(alice, make_task):
    make_task(user_id="bob", tags=["secret"])
    response = alice.get("/api/bob/tags")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_tags_need_a_token(client):
    response = client.get("/api/tags")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_tags_read_back_as_django_json_field_reads_them(make_task):
    """tags and tag_keys are read with orjson (JSONListField): the same values as JSONField, key lookups too."""
    task = make_task(user_id="alice", tags=["Work", "été", "x" * 50])
    stored = Task.objects.get(pk=task.pk)
    assert (stored.tags, stored.tag_keys) == (["Work", "été", "x" * 50], ["work", "été", "x" * 50])
    assert list(Task.objects.filter(pk=task.pk).values_list("tags__0", "tags__1")) == [("Work", "été")]
    assert Task.objects.filter(pk=task.pk).values("tags")[0] == {"tags": ["Work", "été", "x" * 50]}
