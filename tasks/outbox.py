"""The webhook outbox: the messages a write leaves for the worker (tasks/delivery.py), written in the write's own
transaction by tasks/writes.py, so that a message exists if and only if its write committed, and a task's messages
are numbered in the order of its changes (its row lock orders them). While WEBHOOK_URL is unset nothing is written:
nothing is sent, and nothing is kept to be sent later.

Two kinds of message:
- events (`task.created`, `task.updated`, `task.completed`, `task.deleted`, those in WEBHOOK_EVENTS): the task as
  the write left it, due at once;
- reminders (`task.reminder`): one per offset whose time is still to come, due at that time. A write that changes
  what they depend on (`due_at`, `reminders`, `completed`) replaces the task's future ones, so reopening a task
  brings back those still in the future and completing or deleting it cancels them. One already sent is never
  scheduled again: its time has passed, and only future times are scheduled. One whose time has just come is left
  to the worker, which sends it only if the task, as it is then, still has that reminder.
"""

from datetime import datetime

import orjson
from django.conf import settings
from django.db.models import QuerySet

from todo_project.json import ORJSONRenderer

from . import reminders
from .models import Task, WebhookMessage

REMINDER = "task.reminder"
# The fields a task's reminders are made of.
SCHEDULE = {"due_at", "reminders", "completed"}


def enabled(message_type: str) -> bool:
    return bool(settings.WEBHOOK_URL) and message_type in settings.WEBHOOK_EVENTS


def writes_on_create(task: Task) -> bool:
    """Whether inserting `task` leaves any message: its INSERT needs a transaction then."""
    return enabled("task.created") or (enabled(REMINDER) and bool(task.reminders) and task.due_at is not None)


def writes_on_delete() -> bool:
    return enabled(REMINDER) or enabled("task.deleted")


def task_written(task: Task, *, event: str, changed: set[str], now: datetime, had_reminders: bool) -> None:
    """After `task` was inserted or updated (the fields `changed`), in the write's transaction: its event and, if
    what they depend on changed, its reminders (the future ones it `had_reminders` for replaced)."""
    messages = []
    if enabled(event):
        messages.append(event_message(task, event, now=now))
    if enabled(REMINDER) and changed & SCHEDULE:
        if had_reminders:
            pending().filter(task_id=task.pk, type=REMINDER, created_at__gt=now).delete()
        messages += reminder_messages(task, now=now)
    if messages:
        WebhookMessage.objects.bulk_create(messages)


def task_deleted(task: Task, *, now: datetime) -> None:
    """After `task` was deleted, in the same transaction: its pending reminders cancelled, `task.deleted` recorded."""
    if enabled(REMINDER):
        pending().filter(task_id=task.pk, type=REMINDER).delete()  # the worker would find no task to send them with
    if enabled("task.deleted"):
        data = {"user_id": task.user_id, "task": {"id": str(task.pk)}}
        WebhookMessage.objects.create(**message_fields(task, "task.deleted", data, at=now))


def event_message(task: Task, event: str, *, now: datetime) -> WebhookMessage:
    from .serializers import TaskSerializer  # the serializers read reminders.py, which this module shares

    # Stored as the API writes it (UUIDs as strings, UTC times ending in Z), so the body is the API's task exactly.
    data = orjson.loads(ORJSONRenderer().render({"user_id": task.user_id, "task": TaskSerializer(task).data}))
    return WebhookMessage(**message_fields(task, event, data, at=now))


def reminder_messages(task: Task, *, now: datetime) -> list[WebhookMessage]:
    """A message for each of `task`'s reminders still to come; the task itself is added when it is sent."""
    return [
        WebhookMessage(
            **message_fields(
                task,
                REMINDER,
                {"user_id": task.user_id, "remind_at": at.isoformat().replace("+00:00", "Z"), "offset_minutes": offset},
                at=at,
            )
        )
        for at, offset in reminders.times(due_at=task.due_at, reminders=task.reminders, completed=task.completed)
        if at > now
    ]


def message_fields(task: Task, message_type: str, data: dict, *, at: datetime) -> dict:
    return {
        "user_id": task.user_id,
        "task_id": task.pk,
        "type": message_type,
        "data": data,
        "created_at": at,
        "next_attempt_at": at,
    }


def pending() -> QuerySet:
    """Messages neither delivered nor given up on: what the partial indexes cover (a task's, by task_id:
    webhook_task_pending_idx; the due ones, by next_attempt_at: webhook_pending_idx). The worker's too."""
    return WebhookMessage.objects.filter(delivered_at=None, failed_at=None)
