"""SQL per request: a constant, small number of queries for each route, and list queries served by the indexes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(make_task):
    return [make_task(user_id="alice", title=f"Task {n}", completed=n % 2 == 0) for n in range(60)]


@pytest.mark.parametrize(
    "query",
    ["", "?page=2", "?completed=false", "?search=task", "?ordering=title", "?page_size=200"],
)
def test_list_is_a_count_and_a_page(alice, tasks, django_assert_num_queries, query):
    with django_assert_num_queries(2):
        response = alice.get(f"/api/tasks{query}")
    assert response.status_code == 200


def test_get_is_one_query_and_authentication_none(alice, tasks, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = alice.get(f"/api/alice/tasks/{tasks[0].id}")
    assert response.status_code == 200


def test_create_is_one_insert(alice, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = alice.post("/api/tasks", {"title": "New"}, format="json")
    assert response.status_code == 201
    assert Task.objects.filter(user_id="alice", title="New").exists()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_is_a_lock_and_an_update(alice, tasks, statements, method):
    with statements() as sent:
        response = getattr(alice, method)(f"/api/tasks/{tasks[0].id}", {"title": "Changed"}, format="json")
    assert response.status_code == 200
    assert sent == [statements.lock, "UPDATE"]
    assert Task.objects.get(pk=tasks[0].id).title == "Changed"


def test_toggle_is_a_lock_and_an_update(alice, tasks, statements):
    with statements() as sent:
        response = alice.patch(f"/api/tasks/{tasks[1].id}/complete")
    assert response.status_code == 200
    assert sent == [statements.lock, "UPDATE"]
    assert response.json()["completed"] is True


def test_a_write_that_changes_nothing_is_only_the_lock(alice, tasks, statements):
    with statements() as sent:
        response = alice.patch(f"/api/tasks/{tasks[0].id}", {"title": tasks[0].title}, format="json")
    assert response.status_code == 200
    assert sent == [statements.lock]


def test_delete_is_one_delete(alice, tasks, statements):
    with statements() as sent:
        response = alice.delete(f"/api/tasks/{tasks[0].id}")
    assert response.status_code == 204
    assert sent == ["DELETE"]
    assert not Task.objects.filter(pk=tasks[0].id).exists()


@pytest.fixture
def many_users_tasks():
    """Enough rows, statistics included, for PostgreSQL's planner to choose as it would in production."""
    Task.objects.bulk_create(
        Task(user_id=f"user-{n % 40}", title=f"Task {n}", completed=n % 3 == 0) for n in range(20_000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_task")


def plans(client, path: str) -> list[str]:
    """The EXPLAIN of each query the API runs to answer `path`."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    explained = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            cursor.execute(f"EXPLAIN {query['sql']}")
            explained.append("\n".join(row[0] for row in cursor.fetchall()))
    return explained


@pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN output is PostgreSQL's")
@pytest.mark.parametrize(
    ("query", "page_index"),
    [
        ("", "task_user_created_idx"),
        ("?page=3", "task_user_created_idx"),
        ("?completed=false", "task_user_completed_idx"),
        ("?completed=true&page=2", "task_user_completed_idx"),
    ],
)
def test_list_pages_are_read_in_index_order(client_for, many_users_tasks, query, page_index):
    count_plan, page_plan = plans(client_for("user-7"), f"/api/tasks{query}")
    # The count is one row of the per-user counters (tasks/counting.py), found by its primary key.
    assert "Index Scan" in count_plan, count_plan
    assert "on tasks_taskcount" in count_plan, count_plan
    # The newest tasks come straight off the index: no sort of all the user's tasks before the LIMIT.
    assert page_index in page_plan, page_plan
    assert "Sort" not in page_plan, page_plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN output is PostgreSQL's")
def test_search_finds_the_users_tasks_by_index(client_for, many_users_tasks):
    for plan in plans(client_for("user-7"), "/api/tasks?search=task&ordering=title"):
        assert "Seq Scan" not in plan, plan
        # A term in every title: the user's rows come from an index on the user (a btree or a trigram index's
        # user_id column, whichever the planner prices lower), then each is matched.
        assert "Index Cond: ((user_id)::text = 'user-7'::text)" in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's")
@pytest.mark.parametrize("column", ["title", "description"])
def test_the_trigram_indexes_match_the_sql_of_a_search(alice, column):
    """The indexes of migration 0003 serve `search=` only while they are on the expression Django writes for it
    (on the benchmark's data PostgreSQL then picks them; BENCHMARKS.md has the times)."""
    with CaptureQueriesContext(connection) as queries:
        assert alice.get("/api/tasks?search=invoice").status_code == 200
    assert f'UPPER("tasks_task"."{column}"::text) LIKE UPPER(' in queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [f"task_{column}_trgm_idx"])
        (definition,) = cursor.fetchone()
    assert f"USING gin (user_id, upper(({column})::text) gin_trgm_ops) WITH (fastupdate=off)" in definition


def page_plans(client, path: str) -> list[str]:
    """The EXPLAIN of the feed's page statement: the other query is the lookup of the user's erasure by its key."""
    found = plans(client, path)
    erasure = [plan for plan in found if "tasks_erasure" in plan]
    assert len(erasure) == 1, found
    assert "Index" in erasure[0], found
    return [plan for plan in found if plan not in erasure]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN output is PostgreSQL's")
def test_a_changes_page_is_a_range_scan_of_each_per_user_index(client_for, many_users_tasks):
    Task.objects.filter(completed=True).delete()  # a third of every user's tasks leave tombstones
    with connection.cursor() as cursor:
        # Each bulk write above was one transaction, so all its rows share one position; in production every write
        # is its own. Spread them as that would (the stamping trigger is off for this, inside the test's transaction).
        cursor.execute("ALTER TABLE tasks_task DISABLE TRIGGER tasks_task_stamp_change")
        cursor.execute(
            "UPDATE tasks_task AS t SET change_position = spread.position FROM (SELECT id, "
            "2 * row_number() OVER (ORDER BY id) AS position FROM tasks_task) AS spread WHERE t.id = spread.id"
        )
        cursor.execute(
            "UPDATE tasks_deletedtask AS t SET change_position = spread.position FROM (SELECT id, 2 * row_number() "
            "OVER (ORDER BY id) + 1 AS position FROM tasks_deletedtask) AS spread WHERE t.id = spread.id"
        )
        cursor.execute("ALTER TABLE tasks_task ENABLE TRIGGER tasks_task_stamp_change")
        cursor.execute("ANALYZE tasks_task")
        cursor.execute("ANALYZE tasks_deletedtask")
    client = client_for("user-7")
    # The first page: the user's tasks read off the index in feed order, stopped after the page, never sorted.
    (first_plan,) = page_plans(client, "/api/tasks/changes?limit=100")
    assert "Index Scan using task_user_change_idx" in first_plan, first_plan
    assert "Sort" not in first_plan, first_plan
    cursor = client.get("/api/tasks/changes?limit=100").json()["cursor"]
    (plan,) = page_plans(client, f"/api/tasks/changes?since={cursor}")
    # Each table is read by a range of its per-user index from the cursor on, stopped at the page's size: never
    # all of the user's rows (the planner may read a few dozen tombstones by bitmap and sort them, as here).
    for index in ["task_user_change_idx", "deletedtask_user_change_idx"]:
        assert f" {index} " in plan, plan
    assert plan.count("Index Cond: (((user_id)::text = 'user-7'::text) AND (ROW(change_position, id) > ROW(") == 2, plan
    assert plan.count("Limit") == 3, plan
    assert "Seq Scan" not in plan, plan


@pytest.fixture
def tasks_with_new_fields():
    """As many_users_tasks, with the benchmark's shape: a rare tag on 1%, high priority on 25%, 10% overdue."""
    now = timezone.now()

    def task(n: int) -> Task:
        i = n // 40  # the task's number among its user's
        tags = ["Rare"] if i % 100 == 0 else ["common"] if i % 2 else []
        overdue = i % 10 == 1
        due = now - timedelta(days=1 + i % 7) if overdue else (now + timedelta(days=i % 30) if i % 3 else None)
        return Task(
            user_id=f"user-{n % 40}",
            title=f"Task {n}",
            completed=False if overdue else i % 3 == 0,
            priority=3 if i % 4 == 0 else i % 3,
            due_at=due,
            tags=tags,
            tag_keys=[tag.casefold() for tag in tags],
        )

    Task.objects.bulk_create(task(n) for n in range(20_000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_task")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN output is PostgreSQL's")
@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("?priority=high", "task_user_priority_idx"),
        ("?tag=rare", "task_user_tags_idx"),
        ("?overdue=true", "task_user_open_due_idx"),
        ("?ordering=due_at", "task_user_due_idx"),
    ],
)
def test_the_new_filters_and_orderings_use_their_index(client_for, tasks_with_new_fields, query, index):
    explained = plans(client_for("user-7"), f"/api/tasks{query}")
    assert len(explained) == 2  # the count and the page (of at least one task)
    for plan in explained:
        assert "Seq Scan" not in plan, plan
    assert any(index in plan for plan in explained), explained
    if query == "?ordering=due_at":
        assert "Sort" not in explained[-1], explained[-1]  # read in list order off the index
