"""Lists: pagination, the completed filter, search and ordering, and errors for bad parameters."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_tasks():
    """120 tasks of Alice, task 0 the oldest; every third completed."""
    start = timezone.now() - timedelta(days=1)
    Task.objects.bulk_create(Task(user_id="alice", title=f"task {n:03}", completed=n % 3 == 0) for n in range(120))
    for n in range(120):  # auto_now_add overrides any created_at given to bulk_create
        Task.objects.filter(title=f"task {n:03}").update(created_at=start + timedelta(minutes=n))


def titles(response):
    return [task["title"] for task in response.json()["results"]]


def every_page(client, url: str) -> list[dict]:
    """The tasks of every page from `url` on, following each page's `next` link as given."""
    tasks = []
    while url:
        body = client.get(url).json()
        tasks += body["results"]
        url = body["next"]
    return tasks


def test_first_page_is_the_newest_fifty(alice, many_tasks):
    body = alice.get("/api/tasks").json()
    assert body["count"] == 120
    assert body["previous"] is None
    assert body["next"] == "http://testserver/api/tasks?page=2"
    assert [task["title"] for task in body["results"]] == [f"task {n:03}" for n in range(119, 69, -1)]


def test_next_and_previous_links_work_as_given(alice, many_tasks):
    seen = [task["title"] for task in every_page(alice, "/api/alice/tasks?page_size=50")]
    assert len(seen) == len(set(seen)) == 120
    last = alice.get("/api/alice/tasks?page=3&page_size=50").json()
    assert last["previous"] == "http://testserver/api/alice/tasks?page=2&page_size=50"
    assert len(alice.get(last["previous"]).json()["results"]) == 50


def test_page_size_is_capped_at_200(alice, many_tasks):
    assert len(alice.get("/api/tasks?page_size=1000").json()["results"]) == 120
    Task.objects.bulk_create(Task(user_id="alice", title=f"more {n}") for n in range(100))
    assert len(alice.get("/api/tasks?page_size=1000").json()["results"]) == 200


@pytest.mark.parametrize("page", ["4", "99999", "9" * 40])
def test_page_past_the_end_is_404_json(alice, many_tasks, page):
    response = alice.get(f"/api/tasks?page={page}")
    assert response.status_code == 404
    assert "Invalid page" in response.json()["detail"]


def test_huge_page_size_is_capped_not_an_error(alice, many_tasks):
    response = alice.get("/api/tasks?page_size=" + "9" * 40)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 120


def test_empty_list_is_one_empty_page(alice):
    assert alice.get("/api/tasks").json() == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=1.5",
        "page=%C2%B2",
        "page_size=0",
        "page_size=x",
        "completed=maybe",
        "completed=1",
        "ordering=password",
        "ordering=-created_at,user_id",
        "ordering=description",
        "search=a%00b",
        "page=%EF%BC%92",
        "page=" + "9" * 5000 + "x",
        "completed=" + "x" * 5000,
    ],
)
def test_bad_parameter_is_422_with_a_message(alice, many_tasks, query):
    response = alice.get(f"/api/tasks?{query}")
    assert response.status_code == 422, (query, response.content)
    body = response.json()
    name = query.split("=")[0]
    assert name in body["errors"]
    assert body["detail"].startswith(f"{name}: ")


def test_unknown_parameters_are_ignored(alice, many_tasks):
    assert alice.get("/api/tasks?colour=blue&user_id=bob").json()["count"] == 120


@pytest.mark.parametrize(("value", "count"), [("true", 40), ("false", 80)])
def test_completed_filter(alice, many_tasks, value, count):
    body = alice.get(f"/api/tasks?completed={value}&page_size=200").json()
    assert body["count"] == count
    assert {task["completed"] for task in body["results"]} == {value == "true"}


def test_empty_completed_filters_nothing(alice, many_tasks):
    assert alice.get("/api/tasks?completed=").json()["count"] == 120


def test_search_matches_title_and_description_case_insensitively(alice, make_task):
    make_task(user_id="alice", title="Buy MILK")
    make_task(user_id="alice", title="Call mum", description="about the milkman")
    make_task(user_id="alice", title="Other")
    assert sorted(titles(alice.get("/api/tasks?search=milk"))) == ["Buy MILK", "Call mum"]


def test_search_and_filter_combine(alice, make_task):
    make_task(user_id="alice", title="milk", completed=True)
    make_task(user_id="alice", title="milk")
    assert alice.get("/api/tasks?search=milk&completed=false").json()["count"] == 1


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("title", ["a", "b", "c"]),
        ("-title", ["c", "b", "a"]),
        ("created_at", ["b", "c", "a"]),
        ("-created_at", ["a", "c", "b"]),
        ("updated_at", ["c", "a", "b"]),
        ("-updated_at", ["b", "a", "c"]),
    ],
)
def test_ordering(alice, make_task, ordering, expected):
    now = timezone.now()
    for offset, (title, updated) in enumerate([("b", 3), ("c", 1), ("a", 2)]):
        task = make_task(user_id="alice", title=title)
        Task.objects.filter(pk=task.pk).update(
            created_at=now + timedelta(seconds=offset), updated_at=now + timedelta(seconds=updated)
        )
    assert titles(alice.get(f"/api/tasks?ordering={ordering}")) == expected


def test_ordering_by_completed(alice, make_task):
    make_task(user_id="alice", title="done", completed=True)
    make_task(user_id="alice", title="open")
    assert titles(alice.get("/api/tasks?ordering=completed")) == ["open", "done"]
    assert titles(alice.get("/api/tasks?ordering=-completed")) == ["done", "open"]


@pytest.mark.parametrize("ordering", ["", "title", "-completed", "created_at", "-created_at", "updated_at,title"])
def test_pages_never_overlap_or_skip_even_when_every_sort_key_ties(alice, ordering):
    """Same title, state and timestamps for all: the order must still be total (creation time, then id). Without
    the tie-breakers PostgreSQL's top-N sort gave pages of 50 in another order than one page of 200."""
    Task.objects.bulk_create(Task(user_id="alice", title="same") for _ in range(120))
    Task.objects.filter(user_id="alice").update(created_at=timezone.now(), updated_at=timezone.now())
    query = f"&ordering={ordering}" if ordering else ""
    paged = [task["id"] for task in every_page(alice, f"/api/tasks?page_size=50{query}")]
    whole = [task["id"] for task in alice.get(f"/api/tasks?page_size=200{query}").json()["results"]]
    assert len(set(paged)) == 120
    assert paged == whole
