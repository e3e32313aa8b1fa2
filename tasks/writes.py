"""The write operations on tasks: create, update, set or flip `completed`, delete. Every caller writes here (the
viewset, the complete action, the admin, the commands), and this is the only place that locks a task, moves its
version and keeps the fields that follow others (`completed_at`, `tag_keys`).

A change is one row lock and one statement. `SELECT ... FOR UPDATE` takes the task's row lock (on SQLite the
transaction holds the database's write lock from its start, `transaction_mode` IMMEDIATE, which serialises writers
the same way); under it the write decides everything (If-Match, what is different, the new version) and sends one
UPDATE, with what follows from it in the same transaction: a recurring task's next occurrence and the webhook
outbox's messages (tasks/outbox.py). Concurrent writers of one task queue on the lock, and each decides on the result
of the one before: nothing retries, so nothing can run out of attempts, and no change is made on a stale read. A
change that changes nothing (the same title, `{}`) writes nothing: the version, the ETag and the changes feed stay
as they were.

If-Match is decided under the lock, so the check and the write are one atomic step: of two writes sent with the same
ETag, the second finds the version moved on. ETags are compared as exact strings (RFC 9110 strong comparison), so
`"02"` is not `"2"`.

A recurring task that becomes completed creates its next occurrence here, by whatever route it was completed, and
names it in `next_id`; a task whose `next_id` is set never creates another (reopened and completed again, or its
next occurrence deleted). Both are decided under the row lock, so N concurrent completes make one.

Callers pass the tasks they may write (`tasks`: a view's `get_queryset()`, the token's user's tasks), so a write can
never reach another user's row. Errors are this module's own (`TaskNotFound`, `VersionMismatch`); the callers say
what they mean in their protocol (tasks/views.py: 404 and 412).
"""

import copy
import uuid
from collections.abc import Callable, Collection, Iterable
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from . import outbox
from .conditional import etag
from .models import Task
from .recurrence import RuleError, next_due
from .recurrence import validate as validate_rule
from .tags import keys_of

# The fields a recurrence and reminders depend on: a write that changes one is checked as a whole (schedule_errors).
SCHEDULE = {"recurrence", "due_at", "time_zone", "reminders"}
# What a next occurrence takes from the task it follows.
CARRIED = ["user_id", "title", "description", "priority", "tags", "recurrence", "time_zone", "repeat_from", "reminders"]


class TaskNotFound(Exception):
    """No such task among those the caller may write (never was, or deleted meanwhile)."""


class VersionMismatch(Exception):
    """If-Match names none of the task's current ETag."""


class InvalidSchedule(Exception):
    """The task, as the write would leave it, cannot keep its recurrence or reminders (no due date, a rule with no
    occurrence from that date): `errors` by field, as a serializer's."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def create(*, user_id: str, fields: dict[str, Any]) -> Task:
    """A new task of `user_id` with `fields` (validated by the caller): version 1, `completed_at` if completed; its
    next occurrence too if it is created completed and recurring."""
    now = timezone.now()
    task = Task(**fields, user_id=user_id, completed_at=now if fields.get("completed") else None)
    if errors := schedule_errors(task, changed=fields):
        raise InvalidSchedule(errors)
    # One INSERT needs no transaction of its own; a next occurrence or outbox messages must commit with it.
    recurs_now = bool(task.completed and task.recurrence)
    with transaction.atomic() if recurs_now or outbox.writes_on_create(task) else nullcontext():
        following = next_occurrence(task, now=now) if recurs_now else None
        task.next_id = following and following.pk
        task.save(force_insert=True)
        outbox.task_written(task, event="task.created", changed=set(fields), now=now, had_reminders=False)
        if following:
            insert_occurrence(following, now=now)
    return task


def insert_history(tasks: Iterable[Task]) -> None:
    """Bulk-insert tasks that carry their own past (timestamps, `completed_at`), as `seed_demo` makes them: one
    INSERT per batch, with the fields that follow others filled here as every other write fills them."""
    rows = list(tasks)
    for task in rows:
        task.tag_keys = keys_of(task.tags)
    Task.objects.bulk_create(rows)


def update(tasks: QuerySet, pk, changes: dict[str, Any], *, if_match: Collection[str] | None = None) -> Task:
    """Set the fields in `changes` (validated by the caller) on the task `pk` of `tasks`."""
    return change(tasks, pk, lambda task: changes, if_match=if_match)


def set_completed(tasks: QuerySet, pk, completed: bool | None, *, if_match: Collection[str] | None = None) -> Task:
    """Set `completed`, or flip it when `completed` is None, deciding on the state under the lock."""
    return change(
        tasks, pk, lambda task: {"completed": not task.completed if completed is None else completed}, if_match=if_match
    )


def delete(tasks: QuerySet, pk, *, if_match: Collection[str] | None = None) -> None:
    """Delete the task `pk` of `tasks`: one DELETE, or with If-Match or webhooks, the row lock, the check, the DELETE
    and the outbox's part (its reminders cancelled, `task.deleted`)."""
    if if_match is None and not outbox.writes_on_delete():
        deleted, _ = tasks.filter(pk=pk).delete()
        if not deleted:
            raise TaskNotFound()
        return
    with transaction.atomic():
        task = locked(tasks, pk, if_match=if_match)
        tasks.filter(pk=pk).delete()
        outbox.task_deleted(task, now=timezone.now())


def change(
    tasks: QuerySet, pk, changes_of: Callable[[Task], dict[str, Any]], *, if_match: Collection[str] | None
) -> Task:
    """The one change: lock the task, check If-Match, write what `changes_of(task)` makes different, if anything."""
    with transaction.atomic():
        task = locked(tasks, pk, if_match=if_match)
        changed = {name: value for name, value in changes_of(task).items() if getattr(task, name) != value}
        if changed:
            if errors := schedule_errors(changed_copy(task, changed), changed=changed):
                raise InvalidSchedule(errors)
            write(task, changed)
        return task


def locked(tasks: QuerySet, pk, *, if_match: Collection[str] | None) -> Task:
    """The task `pk` of `tasks`, its row locked until the caller's transaction ends; If-Match checked under it."""
    task = tasks.select_for_update().filter(pk=pk).first()
    if task is None:
        raise TaskNotFound()
    if if_match is not None and etag(task.version) not in if_match:
        raise VersionMismatch()
    return task


def write(task: Task, changed: dict[str, Any]) -> None:
    """One UPDATE of the locked `task`: the fields `changed`, the version + 1, and the fields that follow them; then,
    in the same transaction, the next occurrence if this completes a recurring task for the first time, and the
    outbox's messages."""
    now = timezone.now()
    fields = {**changed, "version": task.version + 1, "updated_at": now}
    if "completed" in changed:
        fields["completed_at"] = now if changed["completed"] else None
    if "tags" in changed:
        fields["tag_keys"] = keys_of(changed["tags"])
    had_reminders = bool(task.reminders)  # a task without reminders has none pending to replace
    for name, value in fields.items():
        setattr(task, name, value)
    completes = changed.get("completed") is True
    following = next_occurrence(task, now=now) if completes and task.recurrence and task.next_id is None else None
    if following:
        fields["next_id"] = task.next_id = following.pk
    Task.objects.filter(pk=task.pk).update(**fields)
    event = "task.completed" if completes else "task.updated"
    outbox.task_written(task, event=event, changed=set(changed), now=now, had_reminders=had_reminders)
    if following:
        insert_occurrence(following, now=now)


def next_occurrence(task: Task, *, now: datetime) -> Task | None:
    """The task that follows `task`, completed at `now` (not saved yet), or None when its rule has none left."""
    due_at = next_due(
        rule=task.recurrence,
        due_at=task.due_at,
        time_zone=task.time_zone,
        repeat_from=task.repeat_from,
        completed_at=now,
        occurrence=task.occurrence,
    )
    if due_at is None:
        return None
    carried = {name: copy.copy(getattr(task, name)) for name in CARRIED}
    return Task(id=uuid.uuid4(), **carried, due_at=due_at, occurrence=task.occurrence + 1)


def insert_occurrence(task: Task, *, now: datetime) -> None:
    task.save(force_insert=True)
    outbox.task_written(task, event="task.created", changed=set(CARRIED), now=now, had_reminders=False)


def changed_copy(task: Task, changed: dict[str, Any]) -> Task:
    """`task` as `changed` would leave it, for checking before anything is written."""
    state = copy.copy(task)
    for name, value in changed.items():
        setattr(state, name, value)
    return state


def schedule_errors(task: Task, *, changed: Collection[str]) -> dict[str, list[str]]:
    """What makes `task` (as a write would leave it) unable to keep its recurrence or reminders, by field; nothing
    when the write changes none of the fields they depend on. Also the admin form's check (tasks/admin.py)."""
    if not SCHEDULE & set(changed):
        return {}
    if task.due_at is None:
        kept = [name for name in ("recurrence", "reminders") if getattr(task, name)]
        if not kept:
            return {}
        if "due_at" in changed:
            message = f"Cannot be null while the task has {' and '.join(kept)}: clear them in the same write."
            return {"due_at": [message]}
        return {name: ["Needs due_at: it is counted from the task's due date."] for name in kept}
    if task.recurrence is None or not {"recurrence", "due_at", "time_zone"} & set(changed):
        return {}
    try:
        validate_rule(task.recurrence, due_at=task.due_at, time_zone=task.time_zone)
    except RuleError as error:
        return {"recurrence": [str(error)]}
    return {}
