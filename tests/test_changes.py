"""The changes feed: the current tasks, then every create, change and delete once, and nothing of another user."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tasks import account, changes
from tasks.models import DeletedTask, Erasure, Task

# Committed writes: on PostgreSQL the feed only shows transactions that have ended, and a test's own does not.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_tombstones_of_earlier_tests():
    """On SQLite the flush between tests deletes tasks row by row, after the tombstones: their triggers leave some."""
    DeletedTask.objects.all().delete()


def page(client, *, since: str | None = None, limit: int | None = None, path: str = "/api/tasks/changes") -> dict:
    query = {name: value for name, value in {"since": since, "limit": limit}.items() if value is not None}
    response = client.get(path, query)
    assert response.status_code == 200, response.content
    return response.json()


def follow(client, *, since: str | None = None, limit: int | None = None) -> tuple[list[dict], str]:
    """Every page until has_more is false: the pages, and the last cursor."""
    pages = []
    while True:
        body = page(client, since=since, limit=limit)
        pages.append(body)
        since = body["cursor"]
        if not body["has_more"]:
            return pages, since


def ids(tasks) -> list[str]:
    return sorted(str(task["id"] if isinstance(task, dict) else task.id) for task in tasks)


def test_the_triggers_that_stamp_positions_are_installed():
    """A migration that rebuilds tasks_task on SQLite (Django copies the table) drops them silently: a later one must
    install them again (ReinstallTriggers, tasks/triggers.py; tests/test_triggers.py)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'tasks_task'::regclass AND NOT tgisinternal")
            expected = {"tasks_task_stamp_change", "tasks_task_tombstone"}
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tasks_task'")
            expected = {"tasks_task_stamp_insert", "tasks_task_stamp_update", "tasks_task_tombstone"}
        assert expected <= {row[0] for row in cursor.fetchall()}


def test_without_since_the_current_tasks_come_in_pages(alice, make_task):
    gone = make_task(user_id="alice")
    tasks = [make_task(user_id="alice", title=f"Task {n}") for n in range(5)]
    gone_id = str(gone.id)
    gone.delete()
    pages, _ = follow(alice, limit=2)
    assert [len(body["changes"]) for body in pages] == [2, 2, 1]
    assert [body["has_more"] for body in pages] == [True, True, False]
    assert pages[0]["deleted"] == []
    # Later pages follow a cursor, so they may carry deletions of tasks this client never got (harmless to apply).
    assert {deleted["id"] for body in pages for deleted in body["deleted"]} <= {gone_id}
    assert ids(change for body in pages for change in body["changes"]) == ids(tasks)
    assert pages[0]["changes"][0].keys() == alice.get(f"/api/tasks/{tasks[0].id}").json().keys()


def test_since_a_cursor_every_create_change_and_delete_comes_once(alice, make_task):
    kept, changed, deleted = (make_task(user_id="alice", title=title) for title in ["kept", "changed", "deleted"])
    _, cursor = follow(alice)
    created = alice.post("/api/tasks", {"title": "created"}, format="json").json()
    alice.patch(f"/api/tasks/{changed.id}", {"title": "changed again"}, format="json")
    alice.delete(f"/api/tasks/{deleted.id}")
    body = page(alice, since=cursor)
    assert ids(body["changes"]) == ids([created, changed])
    assert {task["title"] for task in body["changes"]} == {"created", "changed again"}
    assert body["deleted"] == [{"id": str(deleted.id), "deleted_at": body["deleted"][0]["deleted_at"]}]
    assert body["deleted"][0]["deleted_at"].endswith("Z")
    assert body["has_more"] is False
    again = page(alice, since=body["cursor"])
    assert (again["changes"], again["deleted"], again["has_more"]) == ([], [], False)
    assert Task.objects.filter(pk=kept.pk).exists()


def test_a_task_changed_twice_comes_once_in_its_current_state(alice, make_task):
    task = make_task(user_id="alice", title="v1")
    _, cursor = follow(alice)
    for title in ["v2", "v3"]:
        alice.patch(f"/api/tasks/{task.id}", {"title": title}, format="json")
    body = page(alice, since=cursor)
    assert [change["title"] for change in body["changes"]] == ["v3"]


def test_writes_outside_the_api_are_in_the_feed_too(alice, make_task):
    """The positions come from database triggers: the admin, the shell and bulk statements keep them."""
    saved, updated, deleted = (make_task(user_id="alice", title=title) for title in ["saved", "updated", "deleted"])
    _, cursor = follow(alice)
    saved.title = "saved again"
    saved.save()
    Task.objects.filter(pk=updated.pk).update(completed=True)
    deleted_id = deleted.id
    Task.objects.filter(pk=deleted_id).delete()
    Task.objects.bulk_create([Task(user_id="alice", title="bulk")])
    body = page(alice, since=cursor)
    assert {change["title"] for change in body["changes"]} == {"saved again", "updated", "bulk"}
    assert ids(body["deleted"]) == [str(deleted_id)]


def test_pages_split_changes_and_deletions_of_one_transaction_without_loss(alice, make_task):
    for n in range(5):
        make_task(user_id="alice", title=f"gone {n}")
    _, cursor = follow(alice)
    Task.objects.filter(user_id="alice").delete()  # one statement, one transaction: one position on PostgreSQL
    pages, _ = follow(alice, since=cursor, limit=2)
    assert [len(body["deleted"]) for body in pages] == [2, 2, 1]
    assert ids(gone for body in pages for gone in body["deleted"]) == ids(DeletedTask.objects.all())


def test_both_route_families_give_the_same_feed(alice, make_task):
    make_task(user_id="alice")
    scoped = page(alice, path="/api/alice/tasks/changes/")
    assert page(alice)["changes"] == scoped["changes"]
    # A cursor from one family continues in the other.
    alice.post("/api/tasks", {"title": "later"}, format="json")
    assert [change["title"] for change in page(alice, since=scoped["cursor"])["changes"]] == ["later"]


def test_another_users_changes_and_cursor_give_nothing_of_theirs(alice, bob, make_task):
    make_task(user_id="bob", title="bob's")
    make_task(user_id="bob", title="bob's gone").delete()
    assert page(alice)["changes"] == []
    _, alice_cursor = follow(alice)
    make_task(user_id="bob", title="bob's later")
    make_task(user_id="bob", title="bob's later gone").delete()
    body = page(alice, since=alice_cursor)
    assert (body["changes"], body["deleted"]) == ([], [])
    _, bob_cursor = follow(bob)
    response = alice.get("/api/tasks/changes", {"since": bob_cursor})
    assert response.status_code == 422
    assert response.json()["errors"]["since"]
    assert bob.get("/api/alice/tasks/changes").status_code == 404


@pytest.mark.parametrize(
    "since",
    ["garbage", "WzAsIjAwIiwiMjAyNi0wMS0wMSJd:forged", "x" * 2000],
    ids=["garbage", "forged-signature", "long"],
)
def test_a_cursor_this_api_did_not_issue_is_a_422(alice, since):
    response = alice.get("/api/tasks/changes", {"since": since})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("since: Not a cursor issued by this API")


def test_a_tampered_cursor_is_a_422(alice, make_task):
    make_task(user_id="alice")
    cursor = page(alice)["cursor"]
    tampered = cursor.replace(cursor[0], "A" if cursor[0] != "A" else "B", 1)
    assert alice.get("/api/tasks/changes", {"since": tampered}).status_code == 422


def test_a_cursor_older_than_the_kept_deletions_is_a_410(alice):
    old = changes.Cursor(0, changes.START[1], (timezone.now() - timedelta(days=30, minutes=1)).isoformat())
    response = alice.get("/api/tasks/changes", {"since": changes.encode_cursor(old, user_id="alice")})
    assert response.status_code == 410
    assert response.json() == {"detail": response.json()["detail"], "code": "cursor_expired"}
    recent = changes.Cursor(0, changes.START[1], (timezone.now() - timedelta(days=29, hours=23)).isoformat())
    assert alice.get("/api/tasks/changes", {"since": changes.encode_cursor(recent, user_id="alice")}).status_code == 200


def test_a_paused_sync_keeps_the_age_of_its_first_page(alice, make_task):
    """A cursor of an unfinished sync (has_more) is as old as the first page it continues, not as its own page."""
    for _ in range(3):
        make_task(user_id="alice")
    first = page(alice, limit=1)
    started = changes.decode_cursor(first["cursor"], user_id="alice").since
    second = page(alice, since=first["cursor"], limit=1)
    assert changes.decode_cursor(second["cursor"], user_id="alice").since == started


@pytest.mark.parametrize("limit", ["0", "-1", "ten", "1.5"])
def test_a_bad_limit_is_a_422(alice, limit):
    response = alice.get("/api/tasks/changes", {"limit": limit})
    assert response.status_code == 422
    assert "limit" in response.json()["errors"]


def test_a_large_limit_is_capped(alice, make_task, monkeypatch):
    monkeypatch.setattr(changes, "MAX_LIMIT", 2)
    for _ in range(3):
        make_task(user_id="alice")
    body = page(alice, limit=1000)
    assert (len(body["changes"]), body["has_more"]) == (2, True)


def test_tombstones_are_forgotten_after_31_days_and_not_before(make_task):
    for title in ["old", "recent"]:
        make_task(user_id="alice", title=title).delete()
    tombstones = DeletedTask.objects.order_by("deleted_at")
    DeletedTask.objects.filter(pk=tombstones[0].pk).update(deleted_at=timezone.now() - timedelta(days=31, minutes=1))
    DeletedTask.objects.filter(pk=tombstones[1].pk).update(deleted_at=timezone.now() - timedelta(days=30, hours=23))
    recent = tombstones[1].pk
    call_command("forget_sync_history")
    assert list(DeletedTask.objects.values_list("pk", flat=True)) == [recent]


def test_a_page_is_one_query_and_the_erasure(alice, make_task, django_assert_num_queries):
    """The tasks and the tombstones after the cursor, below the horizon, in one statement; then the user's latest
    erasure, by its primary key."""
    make_task(user_id="alice")
    cursor = page(alice)["cursor"]
    with django_assert_num_queries(2) as queries:
        page(alice, since=cursor)
    assert "tasks_erasure" in queries.captured_queries[1]["sql"]


# --- Erasures -------------------------------------------------------------------------------------------------------
def erase(client, how: str, *, user_id: str, admin_client=None) -> None:
    """Erase the user's data as the API, the operator's command or the admin does."""
    if how == "api":
        assert client.delete("/api/account").status_code == 204
    elif how == "command":
        call_command("purge_user", user_id, "--yes", stdout=io.StringIO())
    else:
        selected = {"action": "erase_users_data", "_selected_action": [Task.objects.filter(user_id=user_id)[0].pk]}
        assert admin_client.post("/admin/tasks/task/", {**selected, "confirmed": "yes"}).status_code == 302


@pytest.mark.parametrize("how", ["api", "command", "admin"])
def test_a_cursor_from_before_an_erasure_is_a_410_then_the_feed_is_empty(alice, bob, make_task, admin_client, how):
    """The erasure removes the tombstones with the tasks: a device that synced before it must start again, not get an
    empty page and keep the erased tasks."""
    for number in range(3):
        make_task(user_id="alice", title=f"Task {number}")
    make_task(user_id="alice").delete()  # a tombstone, which the erasure removes too
    make_task(user_id="bob")
    _, before = follow(alice)
    _, bobs = follow(bob)

    erase(alice, how, user_id="alice", admin_client=admin_client)

    response = alice.get("/api/tasks/changes", {"since": before})
    assert response.status_code == 410, response.content
    assert response.json() == {"detail": changes.ERASED, "code": "cursor_expired"}
    pages, after = follow(alice)
    assert [(body["changes"], body["deleted"]) for body in pages] == [([], [])]
    body = page(alice, since=after)
    assert (body["changes"], body["deleted"]) == ([], [])
    created = make_task(user_id="alice", title="New life")
    # Never a page that would move the old cursor past the erasure, with new tasks or without.
    assert alice.get("/api/tasks/changes", {"since": before}).status_code == 410
    assert ids(page(alice, since=after)["changes"]) == ids([created])
    assert page(bob, since=bobs)["changes"] == []  # another user's cursor is untouched


def test_a_fresh_sync_after_an_erasure_is_not_refused_for_it(alice, make_task):
    """A write that took its position before the erasure and committed after it survives with a position below the
    erasure's (PostgreSQL, concurrent transactions): the erasure's position is set above the tasks' to make one. A
    sync without `since` reflects the erasure, so following its cursors page by page is never refused for it."""
    make_task(user_id="alice")
    _, before = follow(alice)
    account.erase_user(user_id="alice")
    survivors = [make_task(user_id="alice", title=f"Survivor {n}") for n in range(3)]
    (real,) = Erasure.objects.values_list("change_position", flat=True)
    highest = Task.objects.order_by("-change_position").values_list("change_position", flat=True)[0]
    Erasure.objects.update(change_position=highest + 1)

    pages, cursor = follow(alice, limit=1)

    assert ids(task for body in pages for task in body["changes"]) == ids(survivors)
    assert alice.get("/api/tasks/changes", {"since": before}).status_code == 410
    Erasure.objects.update(change_position=real)
    account.erase_user(user_id="alice")  # a second erasure: the cursor issued after the first is refused now
    assert alice.get("/api/tasks/changes", {"since": cursor}).status_code == 410


def test_a_cursor_issued_before_erasures_were_remembered_is_refused_after_one(alice, make_task):
    make_task(user_id="alice")
    cursor = changes.decode_cursor(page(alice)["cursor"], user_id="alice")
    # The three items cursors had before the erasure's position was added.
    old = changes.signer(user_id="alice").sign_object([cursor.position, cursor.task_id.hex, cursor.since])
    assert alice.get("/api/tasks/changes", {"since": old}).status_code == 200
    account.erase_user(user_id="alice")
    assert alice.get("/api/tasks/changes", {"since": old}).status_code == 410


def test_an_erasure_is_remembered_without_the_user_id(alice, make_task):
    make_task(user_id="alice-the-user")
    account.erase_user(user_id="alice-the-user")
    account.erase_user(user_id="alice-the-user")  # again: still one row, at the later position
    (row,) = Erasure.objects.values_list()
    assert not any("alice" in str(value) for value in row)
    assert row[0] == changes.subjects_of("alice-the-user")[0] != changes.subjects_of("bob")[0]


def test_erasures_are_remembered_under_a_rotated_key(alice, make_task, settings):
    make_task(user_id="alice")
    _, before = follow(alice)
    account.erase_user(user_id="alice")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-after-the-erasure"  # noqa: S105
    assert alice.get("/api/tasks/changes", {"since": before}).status_code == 410


def test_erasures_are_forgotten_with_the_tombstones(make_task):
    for user_id in ["old", "recent"]:
        account.erase_user(user_id=user_id)
    old, recent = changes.subjects_of("old")[0], changes.subjects_of("recent")[0]
    Erasure.objects.filter(pk=old).update(erased_at=timezone.now() - timedelta(days=31, minutes=1))
    Erasure.objects.filter(pk=recent).update(erased_at=timezone.now() - timedelta(days=30, hours=23))
    output = io.StringIO()
    call_command("forget_sync_history", stdout=output)
    assert list(Erasure.objects.values_list("pk", flat=True)) == [recent]
    assert "erasures: 1 removed" in output.getvalue()
