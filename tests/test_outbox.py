"""The webhook outbox: what each write leaves for the worker, in the write's own transaction (tasks/outbox.py). The
worker's side, delivering them, is tested in the delivery tests."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from tasks.models import WebhookMessage

from .helpers import WEBHOOKS_ON

pytestmark = pytest.mark.django_db

REMINDERS_ONLY = {**WEBHOOKS_ON, "WEBHOOK_EVENTS": frozenset(["task.reminder"])}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def in_hours(hours: float) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)


def messages(**filters) -> list[tuple]:
    return list(WebhookMessage.objects.filter(**filters).order_by("id").values_list("type", "data"))


def pending_reminders(task_id: str) -> list[tuple[str, int]]:
    rows = WebhookMessage.objects.filter(task_id=task_id, type="task.reminder", delivered_at__isnull=True)
    return sorted((iso(row.created_at), row.data["offset_minutes"]) for row in rows)


def test_nothing_is_kept_while_webhook_url_is_unset(alice, settings):
    assert settings.WEBHOOK_URL is None
    task = alice.post("/api/tasks", {"title": "t", "due_at": iso(in_hours(5)), "reminders": [0, 60]}, format="json")
    alice.patch(f"/api/tasks/{task.json()['id']}/complete")
    alice.delete(f"/api/tasks/{task.json()['id']}")
    assert not WebhookMessage.objects.exists()


@override_settings(**WEBHOOKS_ON)
def test_each_write_leaves_its_event_in_order_with_the_task_as_written(alice):
    created = alice.post("/api/tasks", {"title": "t"}, format="json").json()
    url = f"/api/tasks/{created['id']}"
    updated = alice.patch(url, {"title": "u"}, format="json").json()
    completed = alice.patch(f"{url}/complete").json()
    reopened = alice.patch(f"{url}/complete").json()
    alice.delete(url)

    assert messages(task_id=created["id"]) == [
        ("task.created", {"user_id": "alice", "task": created}),
        ("task.updated", {"user_id": "alice", "task": updated}),
        ("task.completed", {"user_id": "alice", "task": completed}),  # not task.updated
        ("task.updated", {"user_id": "alice", "task": reopened}),
        ("task.deleted", {"user_id": "alice", "task": {"id": created["id"]}}),
    ]


@override_settings(**WEBHOOKS_ON)
def test_a_refused_a_replayed_or_an_empty_write_leaves_nothing(alice):
    created = alice.post("/api/tasks", {"title": "t"}, format="json", HTTP_IDEMPOTENCY_KEY="k").json()
    url = f"/api/tasks/{created['id']}"
    before = messages()
    assert alice.post("/api/tasks", {"title": "t"}, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert alice.patch(url, {"title": ""}, format="json").status_code == 422
    assert alice.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH='"9"').status_code == 412
    assert alice.patch(url, {"title": "t"}, format="json").status_code == 200  # the same title: no change
    assert alice.delete(url, HTTP_IF_MATCH='"9"').status_code == 412
    assert messages() == before


@override_settings(**WEBHOOKS_ON)
def test_an_event_type_left_out_of_webhook_events_is_not_kept(alice, settings):
    settings.WEBHOOK_EVENTS = frozenset(["task.completed"])
    created = alice.post("/api/tasks", {"title": "t", "due_at": iso(in_hours(3)), "reminders": [5]}, format="json")
    alice.patch(f"/api/tasks/{created.json()['id']}/complete")
    assert [kind for kind, _ in messages()] == ["task.completed"]


@override_settings(**REMINDERS_ONLY)
def test_reminders_are_scheduled_rescheduled_and_cancelled_with_their_task(alice):
    due = in_hours(3)
    task = alice.post("/api/tasks", {"title": "t", "due_at": iso(due), "reminders": [0, 60, 240]}, format="json")
    url = f"/api/tasks/{task.json()['id']}"
    task_id = task.json()["id"]
    # 240 minutes before is already past: not sent.
    assert pending_reminders(task_id) == [(iso(due - timedelta(minutes=60)), 60), (iso(due), 0)]

    later = in_hours(5)
    alice.patch(url, {"due_at": iso(later)}, format="json")
    expected = [(iso(later - timedelta(minutes=240)), 240), (iso(later - timedelta(minutes=60)), 60), (iso(later), 0)]
    assert pending_reminders(task_id) == expected

    alice.patch(url, {"reminders": [15]}, format="json")
    assert pending_reminders(task_id) == [(iso(later - timedelta(minutes=15)), 15)]

    alice.patch(url, {"title": "renamed"}, format="json")  # what reminders depend on did not change
    assert pending_reminders(task_id) == [(iso(later - timedelta(minutes=15)), 15)]

    alice.patch(f"{url}/complete")
    assert pending_reminders(task_id) == []
    alice.patch(f"{url}/complete")  # reopened: those still to come come back
    assert pending_reminders(task_id) == [(iso(later - timedelta(minutes=15)), 15)]

    alice.patch(url, {"reminders": []}, format="json")
    assert pending_reminders(task_id) == []
    alice.patch(url, {"reminders": [0]}, format="json")
    alice.delete(url)
    assert pending_reminders(task_id) == []
    assert [kind for kind, _ in messages()] == []  # only reminders are configured, and none is left


@override_settings(**REMINDERS_ONLY)
def test_a_reminder_message_carries_its_time_and_offset_and_the_task_comes_at_sending(alice):
    due = in_hours(2)
    task = alice.post("/api/tasks", {"title": "t", "due_at": iso(due), "reminders": [30]}, format="json").json()
    message = WebhookMessage.objects.get()
    assert (message.type, message.user_id, str(message.task_id)) == ("task.reminder", "alice", task["id"])
    assert message.data == {"user_id": "alice", "remind_at": iso(due - timedelta(minutes=30)), "offset_minutes": 30}
    assert message.created_at == message.next_attempt_at == due - timedelta(minutes=30)
    assert (message.attempts, message.delivered_at, message.failed_at, message.leased_until) == (0, None, None, None)


@override_settings(**WEBHOOKS_ON)
def test_completing_a_recurring_task_schedules_the_next_ones_reminders(alice):
    due = in_hours(24)
    body = {"title": "Daily", "due_at": iso(due), "recurrence": "FREQ=DAILY", "reminders": [10]}
    task = alice.post("/api/tasks", body, format="json").json()
    next_id = alice.patch(f"/api/tasks/{task['id']}/complete").json()["next_id"]
    assert pending_reminders(task["id"]) == []
    assert pending_reminders(next_id) == [(iso(due + timedelta(days=1) - timedelta(minutes=10)), 10)]
    kinds = [(kind, data["task"]["id"]) for kind, data in messages() if kind != "task.reminder"]
    assert kinds == [("task.created", task["id"]), ("task.completed", task["id"]), ("task.created", next_id)]


@override_settings(**WEBHOOKS_ON)
def test_erasure_takes_the_users_messages(alice, bob):
    alice.post("/api/tasks", {"title": "t", "due_at": iso(in_hours(2)), "reminders": [5]}, format="json")
    bob.post("/api/tasks", {"title": "b"}, format="json")
    assert alice.delete("/api/account", HTTP_X_CONFIRM="delete").status_code in {200, 204}
    assert not WebhookMessage.objects.filter(user_id="alice").exists()
    assert WebhookMessage.objects.filter(user_id="bob").exists()
