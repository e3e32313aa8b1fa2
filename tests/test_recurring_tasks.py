"""Recurring tasks through the API: completing one, by any route, creates its next occurrence in the same transaction,
exactly once; the rule's dates (tasks/recurrence.py has the rule's own tests); what the API refuses."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from tasks.models import Task, TaskCount
from tests.live import call, call_together

pytestmark = pytest.mark.django_db

WEEKLY = {"title": "Water the plants", "due_at": "2030-01-07T09:00:00Z", "recurrence": "FREQ=WEEKLY"}


@pytest.fixture(params=["/api/tasks", "/api/alice/tasks"])
def tasks_url(request) -> str:
    return request.param


def create(client, body: dict, url: str = "/api/tasks") -> dict:
    response = client.post(url, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def complete(client, task_id: str, url: str = "/api/tasks", **headers) -> dict:
    response = client.patch(f"{url}/{task_id}/complete", {"completed": True}, format="json", **headers)
    assert response.status_code == 200, response.content
    return response.json()


# --- The next occurrence ----------------------------------------------------------------------------------------------
def test_completing_creates_the_next_occurrence_with_the_same_fields(alice, tasks_url):
    first = create(
        alice,
        {
            **WEEKLY,
            "description": "Balcony too",
            "priority": "high",
            "tags": ["Home"],
            "time_zone": "Europe/Berlin",
            "repeat_from": "due",
            "reminders": [60, 0],
        },
        tasks_url,
    )
    assert (first["occurrence"], first["next_id"], first["reminders"]) == (1, None, [0, 60])

    done = complete(alice, first["id"], tasks_url)

    following = alice.get(f"{tasks_url}/{done['next_id']}").json()
    assert done["completed"] is True
    assert done["version"] == 2
    same = ["title", "description", "priority", "tags", "recurrence", "time_zone", "repeat_from", "reminders"]
    assert {name: following[name] for name in same} == {name: first[name] for name in same}
    assert following["due_at"] == "2030-01-14T09:00:00Z"
    assert (following["occurrence"], following["completed"], following["version"]) == (2, False, 1)
    assert (following["next_id"], following["completed_at"]) == (None, None)
    # An ordinary task: in the list and the counts.
    assert alice.get(tasks_url).json()["count"] == 2
    assert TaskCount.objects.get(user_id="alice").total == 2


@pytest.mark.django_db(transaction=True)  # the feed's horizon on PostgreSQL: committed transactions only
def test_the_next_occurrence_is_in_the_changes_feed_after_the_cursor(alice):
    task = create(alice, WEEKLY)
    cursor = alice.get("/api/tasks/changes").json()["cursor"]
    next_id = complete(alice, task["id"])["next_id"]
    changed = alice.get("/api/tasks/changes", {"since": cursor}).json()["changes"]
    assert {change["id"] for change in changed} == {task["id"], next_id}


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("patch", "/complete", {}),  # the flip
        ("patch", "/complete", {"completed": True}),
        ("patch", "", {"completed": True}),
        ("put", "", {**WEEKLY, "completed": True}),
    ],
)
def test_every_route_that_completes_creates_it(alice, method, suffix, body):
    task = create(alice, WEEKLY)
    response = getattr(alice, method)(f"/api/tasks/{task['id']}{suffix}", body, format="json")
    assert response.status_code == 200
    assert response.json()["next_id"] is not None
    assert Task.objects.filter(user_id="alice").count() == 2


def test_a_task_created_completed_counts_as_completed(alice):
    task = create(alice, {**WEEKLY, "completed": True})
    assert task["next_id"] is not None
    assert Task.objects.get(pk=task["next_id"]).occurrence == 2


def test_an_admin_edit_that_completes_creates_it(admin_client, make_task):
    task = make_task(
        user_id="alice", title="Weekly", due_at=datetime(2030, 1, 7, 9, tzinfo=UTC), recurrence="FREQ=WEEKLY"
    )
    form = {
        "user_id": "alice",
        "title": "Weekly",
        "description": "",
        "completed": "on",
        "due_at_0": "2030-01-07",
        "due_at_1": "09:00:00",
        "priority": "0",
        "tags": "[]",
        "recurrence": "FREQ=WEEKLY",
        "time_zone": "UTC",
        "repeat_from": "due",
        "reminders": "[]",
    }
    assert admin_client.post(f"/admin/tasks/task/{task.pk}/change/", form).status_code == 302
    task.refresh_from_db()
    assert Task.objects.get(pk=task.next_id).due_at == datetime(2030, 1, 14, 9, tzinfo=UTC)
    # The series: the completed one links to the one its completion created; the list filters recurring ones.
    page = admin_client.get(f"/admin/tasks/task/{task.pk}/change/").content.decode()
    assert f'<a href="/admin/tasks/task/{task.next_id}/change/">occurrence 2</a>' in page
    assert admin_client.get("/admin/tasks/task/", {"recurring": "false"}).context["cl"].result_count == 0
    assert admin_client.get("/admin/tasks/task/", {"recurring": "true"}).context["cl"].result_count == 2
    # The admin refuses what the API refuses: a recurrence without a due date.
    refused = admin_client.post(f"/admin/tasks/task/{task.pk}/change/", {**form, "due_at_0": "", "due_at_1": ""})
    assert refused.status_code == 200
    assert "clear them in the same write" in refused.content.decode()


def test_the_mcp_tool_creates_it(alice):
    task = create(alice, WEEKLY)
    call_body = {"name": "complete_task", "arguments": {"task_id": task["id"]}}
    response = alice.post(
        "/mcp",
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call_body},
        format="json",
        HTTP_ACCEPT="application/json, text/event-stream",
        HTTP_MCP_PROTOCOL_VERSION="2025-06-18",
    )
    result = response.json()["result"]
    assert result["isError"] is False
    assert result["structuredContent"]["next_id"] is not None
    listed = alice.post(
        "/mcp",
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "list_tasks", "arguments": {"recurring": True, "status": "pending"}},
        },
        format="json",
        HTTP_ACCEPT="application/json, text/event-stream",
        HTTP_MCP_PROTOCOL_VERSION="2025-06-18",
    ).json()["result"]["structuredContent"]
    assert [(task["occurrence"], task["id"]) for task in listed["tasks"]] == [
        (2, result["structuredContent"]["next_id"])
    ]


def test_exactly_once_reopened_completed_again_or_its_next_deleted(alice):
    task = create(alice, WEEKLY)
    next_id = complete(alice, task["id"])["next_id"]
    reopened = alice.patch(f"/api/tasks/{task['id']}/complete", {"completed": False}, format="json").json()
    assert reopened["next_id"] == next_id  # kept
    assert complete(alice, task["id"])["next_id"] == next_id
    assert alice.delete(f"/api/tasks/{next_id}").status_code == 204
    alice.patch(f"/api/tasks/{task['id']}/complete", {"completed": False}, format="json")
    assert complete(alice, task["id"])["next_id"] == next_id
    assert Task.objects.filter(user_id="alice").count() == 1


def test_a_retried_complete_makes_one(alice):
    task = create(alice, WEEKLY)
    first = complete(alice, task["id"], HTTP_IDEMPOTENCY_KEY="done-1")
    replay = alice.patch(
        f"/api/tasks/{task['id']}/complete", {"completed": True}, format="json", HTTP_IDEMPOTENCY_KEY="done-1"
    )
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["next_id"] == first["next_id"]
    assert complete(alice, task["id"])["next_id"] == first["next_id"]  # and without a key
    assert Task.objects.filter(user_id="alice").count() == 2


def test_a_refused_write_creates_nothing(alice):
    task = create(alice, WEEKLY)
    response = alice.patch(
        f"/api/tasks/{task['id']}", {"completed": True, "priority": "urgent"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 422
    response = alice.patch(f"/api/tasks/{task['id']}/complete", {}, format="json", HTTP_IF_MATCH='"7"')
    assert response.status_code == 412
    assert Task.objects.filter(user_id="alice").count() == 1


def test_other_writes_of_a_completed_recurring_task_create_nothing(alice):
    task = create(alice, {**WEEKLY, "completed": True})
    alice.patch(f"/api/tasks/{task['id']}", {"title": "Renamed", "completed": True}, format="json")
    assert Task.objects.filter(user_id="alice").count() == 2


# --- The rule's dates, through the API --------------------------------------------------------------------------------
def chain(client, body: dict, completions: int) -> list[dict]:
    """The task and the occurrences that completing it `completions` times in a row makes (fewer if none is left)."""
    tasks = [create(client, body)]
    for _ in range(completions):
        done = complete(client, tasks[-1]["id"])
        if done["next_id"] is None:
            break
        tasks.append(client.get(f"/api/tasks/{done['next_id']}").json())
    return tasks


def test_wall_clock_time_is_kept_across_daylight_saving(alice):
    # Monday 22 March 2027, 09:00 in Berlin (CET, UTC+1); summer time starts on Sunday the 28th.
    body = {"title": "Stand-up", "due_at": "2027-03-22T08:00:00Z", "recurrence": "FREQ=WEEKLY;BYDAY=MO"}
    tasks = chain(alice, {**body, "time_zone": "Europe/Berlin"}, 1)
    assert tasks[1]["due_at"] == "2027-03-29T07:00:00Z"  # 09:00 CEST
    utc = chain(alice, body, 1)
    assert utc[1]["due_at"] == "2027-03-29T08:00:00Z"  # in UTC the hour stays


def test_last_friday_of_the_month(alice):
    tasks = chain(
        alice, {"title": "Report", "due_at": "2027-01-29T10:00:00Z", "recurrence": "FREQ=MONTHLY;BYDAY=-1FR"}, 2
    )
    assert [task["due_at"] for task in tasks] == [
        "2027-01-29T10:00:00Z",
        "2027-02-26T10:00:00Z",
        "2027-03-26T10:00:00Z",
    ]


def test_count_ends_the_series(alice):
    tasks = chain(alice, {"title": "Pills", "due_at": "2027-01-04T08:00:00Z", "recurrence": "FREQ=DAILY;COUNT=2"}, 5)
    assert [(task["occurrence"], task["due_at"]) for task in tasks] == [
        (1, "2027-01-04T08:00:00Z"),
        (2, "2027-01-05T08:00:00Z"),
    ]
    assert alice.get(f"/api/tasks/{tasks[-1]['id']}").json()["next_id"] is None


def test_until_ends_the_series_inclusively(alice):
    rule = "FREQ=DAILY;UNTIL=20270106T080000Z"
    tasks = chain(alice, {"title": "Course", "due_at": "2027-01-04T08:00:00Z", "recurrence": rule}, 5)
    assert [task["due_at"][:10] for task in tasks] == ["2027-01-04", "2027-01-05", "2027-01-06"]


def test_missed_occurrences_are_skipped(alice):
    task = create(alice, {"title": "Old", "due_at": "2020-01-06T09:00:00Z", "recurrence": "FREQ=WEEKLY"})
    before = datetime.now(UTC)
    following = alice.get(f"/api/tasks/{complete(alice, task['id'])['next_id']}").json()
    due = datetime.fromisoformat(following["due_at"])
    assert before < due <= before + timedelta(days=7)
    assert (due.weekday(), due.hour, due.minute) == (0, 9, 0)  # still Mondays at 09:00
    assert following["occurrence"] == 2


def test_repeat_from_completion_counts_from_the_day_it_was_done(alice):
    body = {
        "title": "Water",
        "due_at": "2026-01-01T09:00:00Z",
        "recurrence": "FREQ=DAILY;INTERVAL=3",
        "repeat_from": "completion",
    }
    task = create(alice, body)
    today = datetime.now(UTC).date()
    following = alice.get(f"/api/tasks/{complete(alice, task['id'])['next_id']}").json()
    assert following["due_at"] == f"{today + timedelta(days=3)}T09:00:00Z"


# --- What the API refuses ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "t", "recurrence": "FREQ=DAILY"}, "recurrence"),
        ({"title": "t", "reminders": [10]}, "reminders"),
        ({**WEEKLY, "recurrence": ""}, "recurrence"),
        ({**WEEKLY, "recurrence": 7}, "recurrence"),
        ({**WEEKLY, "recurrence": "FREQ=HOURLY"}, "recurrence"),
        ({**WEEKLY, "recurrence": "RRULE:FREQ=DAILY"}, "recurrence"),
        ({**WEEKLY, "recurrence": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"}, "recurrence"),
        ({**WEEKLY, "recurrence": "FREQ=DAILY;" + "X" * 300}, "recurrence"),
        ({**WEEKLY, "time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({**WEEKLY, "time_zone": ""}, "time_zone"),
        ({**WEEKLY, "repeat_from": "start"}, "repeat_from"),
        ({**WEEKLY, "reminders": [-1]}, "reminders"),
        ({**WEEKLY, "reminders": [40321]}, "reminders"),
        ({**WEEKLY, "reminders": ["15"]}, "reminders"),
        ({**WEEKLY, "reminders": [1.5]}, "reminders"),
        ({**WEEKLY, "reminders": [True]}, "reminders"),
        ({**WEEKLY, "reminders": [1, 2, 3, 4, 5, 6]}, "reminders"),
        ({**WEEKLY, "reminders": 15}, "reminders"),
    ],
)
def test_bad_schedules_are_422_naming_the_field(alice, body, field):
    response = alice.post("/api/tasks", body, format="json")
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"], response.json()
    assert response.json()["detail"].startswith(f"{field}: ")
    assert not Task.objects.exists()


def test_reminders_are_deduplicated_and_sorted_and_40320_is_allowed(alice):
    task = create(alice, {**WEEKLY, "reminders": [40320, 0, 15, 15, 0]})
    assert task["reminders"] == [0, 15, 40320]


def test_a_due_date_cannot_be_cleared_under_a_recurrence_unless_it_goes_too(alice):
    task = create(alice, {**WEEKLY, "reminders": [5]})
    refused = alice.patch(f"/api/tasks/{task['id']}", {"due_at": None}, format="json")
    assert refused.status_code == 422
    assert "due_at" in refused.json()["errors"]
    assert alice.get(f"/api/tasks/{task['id']}").json()["version"] == 1
    cleared = alice.patch(
        f"/api/tasks/{task['id']}", {"due_at": None, "recurrence": None, "reminders": []}, format="json"
    )
    assert cleared.status_code == 200
    assert (cleared.json()["recurrence"], cleared.json()["due_at"]) == (None, None)


def test_a_recurrence_added_later_is_checked_against_the_due_date_it_has(alice):
    task = create(alice, {"title": "t", "due_at": "2030-01-07T09:00:00Z"})
    assert alice.patch(f"/api/tasks/{task['id']}", {"recurrence": "FREQ=DAILY"}, format="json").status_code == 200
    other = create(alice, {"title": "u"})
    refused = alice.patch(f"/api/tasks/{other['id']}", {"recurrence": "FREQ=DAILY"}, format="json")
    assert refused.status_code == 422
    assert "recurrence" in refused.json()["errors"]


def test_server_fields_sent_by_a_client_are_ignored(alice):
    sent = {**WEEKLY, "occurrence": 9, "next_id": "00000000-0000-0000-0000-000000000000"}
    sent["next_reminder_at"] = "2030-01-01T00:00:00Z"
    task = create(alice, sent)
    assert (task["occurrence"], task["next_id"], task["next_reminder_at"]) == (1, None, None)


# --- Lists -----------------------------------------------------------------------------------------------------------
def test_lists_filter_by_recurring(alice, make_task):
    make_task(user_id="alice", title="Once")
    create(alice, WEEKLY)
    titles = {
        value: [t["title"] for t in alice.get(f"/api/tasks?recurring={value}").json()["results"]]
        for value in ("true", "false")
    }
    assert titles == {"true": ["Water the plants"], "false": ["Once"]}
    assert alice.get("/api/tasks?recurring=yes").status_code == 422


def test_next_reminder_at_is_the_earliest_reminder_still_to_come(alice):
    soon = datetime.now(UTC) + timedelta(hours=2)
    due = soon.replace(microsecond=0)
    task = create(alice, {"title": "Call", "due_at": due.isoformat(), "reminders": [0, 30, 240]})
    # 240 minutes before is already past: the 30-minute one is next.
    assert task["next_reminder_at"] == (due - timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    listed = alice.get("/api/tasks").json()["results"][0]
    assert listed["next_reminder_at"] == task["next_reminder_at"]
    assert complete(alice, task["id"])["next_reminder_at"] is None


# --- Concurrency, over real HTTP -------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_concurrent_completes_make_exactly_one(start_server, make_token):
    """16 clients completing one recurring task at once, and 8 more retrying with one Idempotency-Key: one next
    occurrence (on PostgreSQL, through PgBouncer in CI; on SQLite, the file `make run` uses)."""
    server = start_server("--workers", "2")
    headers = [
        ("Authorization", f"Bearer {make_token(sub='racer', alg='HS256')}"),
        ("Content-Type", "application/json"),
    ]
    created = call(server.url, "POST", "/api/tasks", headers=headers, body=json.dumps(WEEKLY).encode())
    path = f"/api/tasks/{created.json()['id']}/complete"
    body = b'{"completed": true}'
    assert call_together(server.url, "PATCH", path, headers=headers, count=16, body=body) == [200] * 16
    keyed = [*headers, ("Idempotency-Key", "once")]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: call(server.url, "PATCH", path, headers=keyed, body=body), range(8)))
    assert {answer.status for answer in answers} <= {200, 409}
    listed = call(server.url, "GET", "/api/tasks?recurring=true", headers=headers).json()
    assert listed["count"] == 2
    next_ids = {task["next_id"] for task in listed["results"]} - {None}
    assert len(next_ids) == 1


def test_an_admin_task_added_with_empty_boxes_has_no_recurrence_reminders_or_tags(admin_client):
    form = {
        "user_id": "alice",
        "title": "New",
        "description": "",
        "priority": "0",
        "tags": "",
        "recurrence": "",
        "time_zone": "UTC",
        "repeat_from": "due",
        "reminders": "",
    }
    assert admin_client.post("/admin/tasks/task/add/", form).status_code == 302
    task = Task.objects.get()
    assert (task.recurrence, task.reminders, task.tags, task.occurrence) == (None, [], [], 1)
