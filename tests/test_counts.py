"""The per-user task counters (TaskCount): kept by triggers through every kind of write, read only where exact."""

from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext

from tasks.models import Task, TaskCount


def actual_counts() -> dict[str, tuple[int, int]]:
    """Counted by the database from the rows themselves (a grouped query never reads TaskCount)."""
    rows = Task.objects.values("user_id").annotate(total=Count("id"), done=Count("id", filter=Q(completed=True)))
    return {row["user_id"]: (row["total"], row["done"]) for row in rows}


def stored_counts() -> dict[str, tuple[int, int]]:
    return {c.user_id: (c.total, c.completed) for c in TaskCount.objects.all() if c.total or c.completed}


def assert_counts_match() -> None:
    assert stored_counts() == actual_counts()


@pytest.mark.django_db
def test_the_triggers_are_installed():
    """A migration that rebuilds tasks_task on SQLite (Django copies the table) would drop them silently."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'tasks_task'::regclass AND NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tasks_task'")
        names = {row[0] for row in cursor.fetchall()}
    assert {"tasks_taskcount_insert", "tasks_taskcount_delete", "tasks_taskcount_update"} <= names


@pytest.mark.django_db
def test_counts_follow_every_kind_of_write(make_task):
    first = make_task(user_id="alice")
    make_task(user_id="alice", completed=True)
    assert stored_counts() == {"alice": (2, 1)}
    Task.objects.bulk_create([Task(user_id=u, title="bulk", completed=i % 3 == 0) for i, u in enumerate("ab" * 50)])
    assert_counts_match()
    Task.objects.filter(user_id="a", completed=False).update(completed=True)  # many rows, one statement
    assert_counts_match()
    Task.objects.filter(user_id="b").update(title="renamed")  # neither owner nor state changes
    assert_counts_match()
    first.completed = True
    first.save()  # Model.save() is an UPDATE of every column
    assert_counts_match()
    Task.objects.filter(pk=first.pk).update(user_id="carol")  # an owner change moves the task between counts
    assert_counts_match()
    Task.objects.filter(user_id="a", title="bulk").delete()  # a bulk delete
    first.refresh_from_db()
    first.delete()
    assert_counts_match()
    assert stored_counts() == {"alice": (1, 1), "b": (50, 17)}


@pytest.mark.django_db
def test_an_update_that_changes_nothing_counted_writes_no_count(make_task):
    task = make_task(user_id="alice")
    with CaptureQueriesContext(connection) as queries:
        Task.objects.filter(pk=task.pk).update(title="new title", description="words")
    assert len(queries) == 1
    assert stored_counts() == {"alice": (1, 0)}


@pytest.mark.django_db
def test_a_rolled_back_write_leaves_the_counts_alone(make_task):
    make_task(user_id="alice")

    def write_then_fail():
        with transaction.atomic():
            make_task(user_id="alice")
            Task.objects.filter(user_id="alice").delete()
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert stored_counts() == {"alice": (1, 0)}


@pytest.fixture
def tasks_to_count(make_task):
    for title, completed in [("milk", False), ("milk too", True), ("bread", False), ("eggs", True), ("tea", True)]:
        make_task(user_id="alice", title=title, completed=completed)
    make_task(user_id="bob", title="milk")


def list_count_queries(client, query: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/tasks{query}")
    assert response.status_code == 200
    return response.json()["count"], [q["sql"] for q in queries]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [("", 5), ("?completed=true", 3), ("?completed=false", 2), ("?completed=", 5), ("?ordering=title&page_size=2", 5)],
)
def test_a_list_filtered_by_state_alone_is_counted_from_the_counters(alice, tasks_to_count, query, expected):
    count, queries = list_count_queries(alice, query)
    assert count == expected
    assert "tasks_taskcount" in queries[0]
    assert not any("COUNT(" in sql.upper() for sql in queries)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [("?search=milk", 2), ("?search=milk&completed=false", 1), ("?search=", 5), ("?unknown=1", 5)],
)
def test_a_list_with_any_other_parameter_is_counted_by_the_database(alice, tasks_to_count, query, expected):
    count, queries = list_count_queries(alice, query)
    assert count == expected
    assert not any("tasks_taskcount" in sql for sql in queries)


@pytest.mark.django_db
def test_other_callers_count_with_the_database(tasks_to_count):
    """The admin and the shell see a plain QuerySet: its count() is the database's, whatever the filter."""
    with CaptureQueriesContext(connection) as queries:
        assert Task.objects.filter(user_id="alice", completed=True).count() == 3
    assert "tasks_taskcount" not in queries[0]["sql"]


@pytest.mark.django_db
def test_a_user_with_no_tasks_counts_zero(alice):
    assert Task.objects.filter(user_id="nobody").count() == 0
    body = alice.get("/api/tasks").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.django_db
def test_list_counts_stay_exact_through_the_api(alice, bob):
    ids = [alice.post("/api/tasks", {"title": f"t{i}"}, format="json").json()["id"] for i in range(7)]
    bob.post("/api/tasks", {"title": "bob's"}, format="json")
    alice.patch(f"/api/tasks/{ids[0]}/complete")
    alice.put(f"/api/tasks/{ids[1]}", {"title": "done", "completed": True}, format="json")
    alice.delete(f"/api/tasks/{ids[2]}")
    alice.delete(f"/api/tasks/{ids[2]}")  # a second delete of the same task: 404, no count change
    counts = {query: alice.get(f"/api/tasks{query}").json()["count"] for query in ["", "?completed=true"]}
    counts["?completed=false"] = alice.get("/api/tasks?completed=false").json()["count"]
    assert counts == {"": 6, "?completed=true": 2, "?completed=false": 4}
    assert_counts_match()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="in-memory shared-cache SQLite cannot take parallel writers")
@pytest.mark.django_db(transaction=True)
def test_parallel_writers_keep_the_counts_exact():
    """Creates, toggles and deletes of one user from several connections at once."""

    def work(worker: int) -> None:
        try:
            for i in range(20):
                task = Task.objects.create(user_id="shared", title=f"w{worker} {i}", completed=i % 2 == 0)
                if i % 3 == 0:
                    Task.objects.filter(pk=task.pk).update(completed=not task.completed)
                if i % 4 == 0:
                    task.delete()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(work, range(6)))
    # Each worker keeps the 15 tasks it did not delete, 6 of them completed.
    assert stored_counts()["shared"] == actual_counts()["shared"] == (90, 36)


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_tasks_already_there():
    executor = MigrationExecutor(connection)
    executor.migrate([("tasks", "0001_initial")])
    try:
        old_tasks = MigrationExecutor(connection).loader.project_state(("tasks", "0001_initial")).apps
        OldTask = old_tasks.get_model("tasks", "Task")
        OldTask.objects.bulk_create(OldTask(user_id=f"u{i % 3}", title="old", completed=i % 2 == 1) for i in range(10))
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert stored_counts() == {"u0": (4, 2), "u1": (3, 2), "u2": (3, 1)}
    assert_counts_match()


def run_recount(*args: str) -> str:
    out = StringIO()
    call_command("recount_tasks", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_recount_repairs_drifted_counters_and_says_what_it_fixed(make_task):
    make_task(user_id="alice", completed=True)
    make_task(user_id="alice")
    make_task(user_id="bob")
    # Drift, as a restore or a hand-written SQL statement leaves it: a wrong row, a missing row, a row with no tasks.
    TaskCount.objects.filter(user_id="alice").update(total=7, completed=0)
    TaskCount.objects.filter(user_id="bob").delete()
    TaskCount.objects.create(user_id="ghost", total=3, completed=1)

    output = run_recount()

    assert output.splitlines() == [
        "alice: 7 tasks, 0 completed -> 2 tasks, 1 completed",
        "bob: 0 tasks, 0 completed -> 1 tasks, 0 completed",
        "ghost: 3 tasks, 1 completed -> 0 tasks, 0 completed",
        "Fixed 3 counter(s); checked every user.",
    ]
    assert_counts_match()
    assert run_recount().splitlines() == ["Fixed 0 counter(s); checked every user."]


@pytest.mark.django_db
def test_recount_of_one_user_leaves_the_others_alone(make_task):
    make_task(user_id="alice")
    make_task(user_id="bob")
    TaskCount.objects.update(total=9)

    assert run_recount("--user", "alice").splitlines() == [
        "alice: 9 tasks, 0 completed -> 1 tasks, 0 completed",
        "Fixed 1 counter(s); checked user alice.",
    ]
    assert stored_counts() == {"alice": (1, 0), "bob": (9, 0)}
