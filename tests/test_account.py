"""Accounts: the export of every task of the user, and the erasure of everything kept about them."""

import re
import threading
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import OperationalError, close_old_connections, connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient, APIRequestFactory

from tasks import account
from tasks.account_views import AccountExportView
from tasks.models import Task, TaskCount

from .helpers import WEBHOOKS_ON

pytestmark = pytest.mark.django_db

ERASE_ROUTES = ["/api/account", "/api/account/", "/api/alice/account", "/api/alice/account/"]
EXPORT_ROUTES = [
    "/api/account/export",
    "/api/account/export/",
    "/api/alice/account/export",
    "/api/alice/account/export/",
]


def read_export(response) -> dict:
    """The whole document (the test client closes the response once it is read)."""
    assert response.streaming
    return orjson.loads(b"".join(response.streaming_content))


def per_user_tables() -> list[type]:
    """Every model of every installed app with a `user_id` field: each keeps rows of a Better Auth user."""
    return [model for model in apps.get_models() if any(f.name == "user_id" for f in model._meta.concrete_fields)]


def rows_by_table(user_id: str) -> dict[str, int]:
    return {model._meta.db_table: model._default_manager.filter(user_id=user_id).count() for model in per_user_tables()}


def make_history(client: APIClient) -> None:
    """Activity through the API that leaves rows in every per-user table: extend it when a table is added."""
    ids = []
    for number in range(3):
        body, key = {"title": f"Task {number}", "tags": ["home"]}, f"create-{number}"
        response = client.post("/api/tasks", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    assert client.patch(f"/api/tasks/{ids[0]}/complete", HTTP_IDEMPOTENCY_KEY="flip").status_code == 200
    assert client.delete(f"/api/tasks/{ids[1]}").status_code == 204
    # Webhooks on: a recurring task with a reminder, completed (its next occurrence, events, reminders pending).
    with override_settings(**WEBHOOKS_ON):
        due = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        body = {"title": "Weekly", "due_at": due, "recurrence": "FREQ=WEEKLY", "reminders": [15]}
        created = client.post("/api/tasks", body, format="json")
        assert created.status_code == 201, created.content
        assert client.patch(f"/api/tasks/{created.json()['id']}/complete").json()["next_id"]


def snapshot() -> list[tuple]:
    return [*Task.objects.order_by("id").values_list(), *TaskCount.objects.order_by("user_id").values_list()]


# --- Export ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("route", EXPORT_ROUTES)
def test_export_is_every_task_of_the_user_as_the_api_shows_them(alice, make_task, route):
    mine = [make_task(user_id="alice", title=f"Mine {n}", completed=n == 1) for n in range(3)]
    make_task(user_id="bob", title="Not mine")
    before = datetime.now(UTC)

    response = alice.get(route)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="tasks-export.json"'
    document = read_export(response)
    assert set(document) == {"user_id", "exported_at", "tasks"}
    assert document["user_id"] == "alice"
    assert before <= datetime.fromisoformat(document["exported_at"]) <= datetime.now(UTC)
    assert document["tasks"] == [alice.get(f"/api/tasks/{task.id}").json() for task in mine]


def test_export_of_a_user_without_tasks_is_an_empty_list(bob, make_task):
    make_task(user_id="alice")
    document = read_export(bob.get("/api/account/export"))
    assert (document["user_id"], document["tasks"]) == ("bob", [])


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_export_reads_chunk_after_chunk_and_gives_each_task_once_in_creation_order(alice, make_task, monkeypatch, size):
    monkeypatch.setattr(account, "EXPORT_CHUNK_SIZE", size)
    tasks = [make_task(user_id="alice", title=f"Task {n}") for n in range(7)]
    # Ties on created_at: the id orders them, and a chunk may end in the middle of a tie.
    same_time = tasks[2].created_at
    Task.objects.filter(pk__in=[task.pk for task in tasks[2:6]]).update(created_at=same_time)
    expected = [str(pk) for pk in Task.objects.order_by("created_at", "id").values_list("id", flat=True)]

    with CaptureQueriesContext(connection) as queries:
        document = read_export(alice.get("/api/account/export"))

    assert [task["id"] for task in document["tasks"]] == expected
    reads = [query["sql"] for query in queries if query["sql"].startswith("SELECT") and "tasks_task" in query["sql"]]
    # One bounded query per chunk (and one that finds the end when the last chunk is full): never all rows at once.
    assert len(reads) == len(expected) // size + 1
    assert all(f"LIMIT {size}" in sql for sql in reads)


@pytest.mark.parametrize("route", ["/api/bob/account/export", "/api/bob/account/export/"])
def test_export_of_another_users_path_is_404(alice, make_task, route):
    make_task(user_id="bob")
    response = alice.get(route)
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


def test_export_needs_a_token():
    response = APIClient().get("/api/account/export")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_export_does_not_need_a_fresh_token(client_for, make_task):
    make_task(user_id="alice")
    stale = client_for("alice", iat=int(time.time()) - 3600)
    assert len(read_export(stale.get("/api/account/export"))["tasks"]) == 1


def test_unreachable_database_before_the_export_starts_is_a_json_503(alice, make_task):
    make_task(user_id="alice")

    def unreachable(execute, sql, params, many, context):
        raise OperationalError("could not connect to server")

    with connection.execute_wrapper(unreachable):
        response = alice.get("/api/account/export")

    assert not response.streaming
    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unreachable; try again shortly."}
    assert response["Retry-After"] == "5"


@pytest.mark.django_db(transaction=True)
def test_export_ends_its_transaction_and_gives_its_connection_back_before_the_first_byte(alice, make_task, monkeypatch):
    """A client that reads slowly must hold no connection or transaction (tests/test_slow_clients.py runs them)."""
    monkeypatch.setattr(account, "EXPORT_CHUNK_SIZE", 2)
    for number in range(5):
        make_task(user_id="alice", title=f"Task {number}")
    token = alice._credentials["HTTP_AUTHORIZATION"]
    request = APIRequestFactory().get("/api/account/export", HTTP_AUTHORIZATION=token)
    connection.ensure_connection()

    response = AccountExportView.as_view()(request)

    assert not connection.in_atomic_block
    if connection.vendor == "postgresql":  # Django never closes the tests' in-memory SQLite database: it would be lost
        assert connection.connection is None
    with CaptureQueriesContext(connection) as queries:
        document = orjson.loads(b"".join(response))  # as a WSGI server does: iterate, then close
        response.close()
    assert len(queries) == 0
    assert int(response["Content-Length"]) == len(orjson.dumps(document))
    assert [task["title"] for task in document["tasks"]] == [f"Task {number}" for number in range(5)]


@pytest.mark.parametrize("in_memory", [10, account.EXPORT_IN_MEMORY])
def test_export_spilled_to_disk_is_the_same_document(alice, make_task, monkeypatch, in_memory):
    monkeypatch.setattr(account, "EXPORT_CHUNK_SIZE", 2)
    monkeypatch.setattr(account, "EXPORT_BLOCK_SIZE", 7)
    monkeypatch.setattr(account, "EXPORT_IN_MEMORY", in_memory)
    tasks = [make_task(user_id="alice", title=f"Tâche {number}") for number in range(5)]
    document = read_export(alice.get("/api/account/export"))
    assert document["tasks"] == [alice.get(f"/api/tasks/{task.id}").json() for task in tasks]


@pytest.mark.django_db(transaction=True)
def test_export_is_one_snapshot_while_the_user_writes(alice, make_task, monkeypatch):
    monkeypatch.setattr(account, "EXPORT_CHUNK_SIZE", 2)
    tasks = [make_task(user_id="alice", title=f"Task {number}") for number in range(6)]
    expected = [alice.get(f"/api/tasks/{task.id}").json() for task in tasks]
    written = []

    def write_meanwhile() -> None:
        """Another worker, with its own connection, changes tasks that have not been exported yet."""
        try:
            Task.objects.filter(pk=tasks[5].pk).delete()
            Task.objects.filter(pk=tasks[4].pk).update(title="Changed meanwhile")
            Task.objects.create(user_id="alice", title="Created meanwhile")
            written.append("all")
        except OperationalError as exc:  # SQLite: the export's read transaction holds writers off
            written.append(str(exc))
        finally:
            close_old_connections()
            connection.close()

    next_chunk = account.next_chunk

    def chunk_then_write(*, user_id, after):
        """After the first chunk has been read, in the export's transaction."""
        if after is not None and not written:
            writer = threading.Thread(target=write_meanwhile)
            writer.start()
            writer.join(timeout=30)
        return next_chunk(user_id=user_id, after=after)

    monkeypatch.setattr(account, "next_chunk", chunk_then_write)
    document = read_export(alice.get("/api/account/export"))

    assert written
    assert document["tasks"] == expected
    if connection.vendor == "postgresql":
        assert written == ["all"]
        assert Task.objects.filter(user_id="alice").count() == 6  # one deleted, one created
    else:
        assert "locked" in written[0]


# --- Erasure --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("route", ERASE_ROUTES)
def test_erasure_removes_the_users_tasks_and_counts_and_nothing_of_anyone_else(alice, bob, route):
    make_history(alice)
    make_history(bob)
    assert alice.get("/api/tags").json() == {"results": [{"name": "home", "count": 2}]}
    bobs = sorted(Task.objects.filter(user_id="bob").values_list())
    bobs_count = TaskCount.objects.get(user_id="bob")

    response = alice.delete(route)

    assert (response.status_code, response.content) == (204, b"")
    assert not Task.objects.filter(user_id="alice").exists()
    assert not TaskCount.objects.filter(user_id="alice").exists()
    assert sorted(Task.objects.filter(user_id="bob").values_list()) == bobs
    assert TaskCount.objects.get(user_id="bob") == bobs_count
    assert (TaskCount.objects.get(user_id="bob").total, bobs_count.total) == (4, 4)  # 2 + a weekly one, and its next
    page = alice.get("/api/tasks").json()
    assert (page["count"], page["results"]) == (0, [])
    assert alice.get("/api/tags").json() == {"results": []}
    feed = alice.get("/api/tasks/changes").json()
    assert (feed["changes"], feed["deleted"], feed["has_more"]) == ([], [], False)
    assert read_export(alice.get("/api/account/export"))["tasks"] == []
    assert alice.delete(route).status_code == 204  # again: nothing left, still 204


def test_erasure_empties_every_per_user_table_found_in_the_models(alice, bob):
    make_history(alice)
    make_history(bob)
    tables = rows_by_table("alice")
    # The history must reach every per-user table, or this test would not see one that the erasure forgets.
    assert tables
    assert all(tables.values()), tables
    bobs = rows_by_table("bob")

    assert alice.delete("/api/account").status_code == 204

    assert rows_by_table("alice") == dict.fromkeys(tables, 0)
    assert rows_by_table("bob") == bobs


def test_the_erasure_covers_the_same_tables_as_the_test():
    assert set(account.per_user_models()) == set(per_user_tables())
    assert account.per_user_models()[0] is Task  # first: deleting tasks fires the triggers that write the others


def test_erasure_is_one_delete_per_table_whatever_the_number_of_tasks(alice):
    make_history(alice)
    with CaptureQueriesContext(connection) as queries:
        assert alice.delete("/api/account").status_code == 204
    statements = [query["sql"].split()[0] for query in queries]
    # No SELECT that loads the tasks first (Django's delete() does when a signal or a cascade needs the objects).
    assert "SELECT" not in statements
    assert statements.count("DELETE") == len(per_user_tables())


def test_erasure_is_one_transaction(alice):
    make_history(alice)
    before = snapshot()

    def fail_on_counts(execute, sql, params, many, context):
        if sql.startswith("DELETE") and "tasks_taskcount" in sql:
            raise OperationalError("connection lost")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_on_counts):
        response = alice.delete("/api/account")

    assert response.status_code == 503
    assert snapshot() == before  # the tasks deleted before the failure are back


@pytest.mark.parametrize(
    ("age", "max_age", "erased"),
    [
        (0, 300, True),
        (290, 300, True),
        (320, 300, False),
        (3600, 300, False),
        (90, 60, False),
        (None, 300, False),
    ],
)
def test_erasure_needs_a_token_issued_within_the_max_age(client_for, settings, age, max_age, erased):
    settings.ACCOUNT_DELETE_MAX_TOKEN_AGE = max_age
    now = int(time.time())
    make_history(client_for("alice"))
    # A token without iat is made by leaving the claim out (make_token drops claims given as None).
    client = client_for("alice", iat=None if age is None else now - age)
    before = snapshot()

    response = client.delete("/api/account")

    if erased:
        assert response.status_code == 204
        assert not Task.objects.filter(user_id="alice").exists()
        return
    assert response.status_code == 401
    assert response.json() == {
        "detail": f"This needs a token issued in the last {max_age} seconds. Get a fresh one from "
        "authClient.token() (or auth.api.getToken() on the server) and retry.",
        "code": "token_not_fresh",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert snapshot() == before


@pytest.mark.parametrize("route", ["/api/alice/account", "/api/alice/account/"])
def test_erasure_on_another_users_path_is_404_and_erases_nothing(alice, bob, route):
    make_history(alice)
    make_history(bob)
    before = snapshot()
    response = bob.delete(route)
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    assert snapshot() == before


def test_erasure_without_a_token_is_401_and_erases_nothing(alice):
    make_history(alice)
    before = snapshot()
    response = APIClient().delete("/api/account")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "post", "put", "patch"])
def test_account_route_takes_only_delete(alice, method):
    response = getattr(alice, method)("/api/account")
    assert response.status_code == 405
    assert "detail" in response.json()


# --- Operators: the commands and the admin --------------------------------------------------------------------------
def test_purge_user_with_yes_erases_and_says_what_it_removed(alice, bob, capsys):
    make_history(alice)
    make_history(bob)
    alices, bobs = rows_by_table("alice"), rows_by_table("bob")

    call_command("purge_user", "alice", "--yes")

    output = capsys.readouterr().out
    removed = {table: int(count) for table, count in re.findall(r"^  (\w+): (\d+)$", output, flags=re.MULTILINE)}
    assert output.startswith(f"Erased {sum(removed.values())} rows kept about 'alice':\n")
    assert set(removed) == set(alices)
    # Rows that triggers write while the tasks go (deletion tombstones) are removed, and counted, too.
    assert all(removed[table] >= count for table, count in alices.items())
    assert (removed["tasks_task"], removed["tasks_taskcount"]) == (4, 1)
    assert not any(rows_by_table("alice").values())
    assert rows_by_table("bob") == bobs


@pytest.mark.parametrize(
    ("answer", "erased"), [("yes", True), ("YES\n", True), ("no", False), ("", False), (None, False)]
)
def test_purge_user_asks_first(alice, monkeypatch, capsys, answer, erased):
    make_history(alice)
    before = snapshot()
    questions = []

    def reply(question: str) -> str:
        questions.append(question)
        if answer is None:
            raise EOFError  # stdin is not a terminal and has nothing to read
        return answer

    monkeypatch.setattr("builtins.input", reply)
    if erased:
        call_command("purge_user", "alice")
        assert not Task.objects.filter(user_id="alice").exists()
    else:
        with pytest.raises(CommandError, match="Cancelled: nothing was erased"):
            call_command("purge_user", "alice")
        assert snapshot() == before
    assert questions == ["Erase them all for good? Type 'yes' to continue: "]
    assert "  tasks_task: 4" in capsys.readouterr().out  # what would go, shown before the question


@pytest.mark.parametrize("command", ["purge_user", "export_user"])
@pytest.mark.parametrize("user_id", ["", " ", "a\x00b", "x" * 256])
def test_commands_refuse_what_is_not_a_user_id(command, user_id):
    arguments = [user_id, "--yes"] if command == "purge_user" else [user_id]
    with pytest.raises(CommandError, match="Invalid user id"):
        call_command(command, *arguments)


def test_export_user_writes_the_export_document(alice, make_task, capsys):
    make_task(user_id="alice", title="Mine")
    make_task(user_id="bob", title="Not mine")
    from_api = read_export(alice.get("/api/account/export"))

    call_command("export_user", "alice")

    from_command = orjson.loads(capsys.readouterr().out)
    assert from_command.pop("exported_at") >= from_api.pop("exported_at")
    assert from_command == from_api
    assert [task["title"] for task in from_command["tasks"]] == ["Mine"]


def test_admin_erases_a_users_data_after_a_confirmation_page(admin_client, alice, bob):
    make_history(alice)
    make_history(bob)
    alices, bobs = rows_by_table("alice"), rows_by_table("bob")
    selected = {"action": "erase_users_data", "_selected_action": [Task.objects.filter(user_id="alice").first().pk]}

    page = admin_client.post("/admin/tasks/task/", selected)

    assert page.status_code == 200
    assert b"Erase these users" in page.content
    for table, count in alices.items():
        assert f"{table}: {count} rows".encode() in page.content
    assert rows_by_table("alice") == alices  # nothing erased before the confirmation

    done = admin_client.post("/admin/tasks/task/", {**selected, "confirmed": "yes"}, follow=True)

    assert done.status_code == 200
    assert re.search(rb"Erased \d+ rows kept about alice\.", done.content)
    assert not any(rows_by_table("alice").values())
    assert rows_by_table("bob") == bobs


def test_admin_erasure_needs_the_delete_permission(client, django_user_model, alice):
    make_history(alice)
    staff = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_task"))
    client.force_login(staff)
    selected = {"action": "erase_users_data", "_selected_action": [Task.objects.filter(user_id="alice").first().pk]}

    client.post("/admin/tasks/task/", {**selected, "confirmed": "yes"})

    assert rows_by_table("alice")["tasks_task"] == 4
