"""The write operations on tasks: create, update, set or flip `completed`, delete. Every caller writes here (the
viewset, the complete action, the admin, the commands), and this is the only place that locks a task, moves its
version and keeps the fields that follow others (`completed_at`, `tag_keys`).

A change is one row lock and one statement. `SELECT ... FOR UPDATE` takes the task's row lock (on SQLite the
transaction holds the database's write lock from its start, `transaction_mode` IMMEDIATE, which serialises writers
the same way); under it the write decides everything (If-Match, what is different, the new version) and sends one
UPDATE. Concurrent writers of one task queue on the lock, and each decides on the result of the one before: nothing
retries, so nothing can run out of attempts, and no change is made on a stale read. A change that changes nothing
(the same title, `{}`) writes nothing: the version, the ETag and the changes feed stay as they were.

If-Match is decided under the lock, so the check and the write are one atomic step: of two writes sent with the same
ETag, the second finds the version moved on. ETags are compared as exact strings (RFC 9110 strong comparison), so
`"02"` is not `"2"`.

Callers pass the tasks they may write (`tasks`: a view's `get_queryset()`, the token's user's tasks), so a write can
never reach another user's row. Errors are this module's own (`TaskNotFound`, `VersionMismatch`); the callers say
what they mean in their protocol (tasks/views.py: 404 and 412).
"""

from collections.abc import Callable, Collection, Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .conditional import etag
from .models import Task
from .tags import keys_of


class TaskNotFound(Exception):
    """No such task among those the caller may write (never was, or deleted meanwhile)."""


class VersionMismatch(Exception):
    """If-Match names none of the task's current ETag."""


def create(*, user_id: str, fields: dict[str, Any]) -> Task:
    """A new task of `user_id` with `fields` (validated by the caller): version 1, `completed_at` if completed."""
    now = timezone.now()
    return Task.objects.create(**fields, user_id=user_id, completed_at=now if fields.get("completed") else None)


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
    """Delete the task `pk` of `tasks`: one DELETE, or with If-Match, the row lock, the check and the DELETE."""
    if if_match is None:
        deleted, _ = tasks.filter(pk=pk).delete()
        if not deleted:
            raise TaskNotFound()
        return
    with transaction.atomic():
        locked(tasks, pk, if_match=if_match)
        tasks.filter(pk=pk).delete()


def change(
    tasks: QuerySet, pk, changes_of: Callable[[Task], dict[str, Any]], *, if_match: Collection[str] | None
) -> Task:
    """The one change: lock the task, check If-Match, write what `changes_of(task)` makes different, if anything."""
    with transaction.atomic():
        task = locked(tasks, pk, if_match=if_match)
        changed = {name: value for name, value in changes_of(task).items() if getattr(task, name) != value}
        if changed:
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
    """One UPDATE of the locked `task`: the fields `changed`, the version + 1, and the fields that follow them.
    Whatever a later change must do in the same transaction (a recurring task's next occurrence) starts here."""
    now = timezone.now()
    fields = {**changed, "version": task.version + 1, "updated_at": now}
    if "completed" in changed:
        fields["completed_at"] = now if changed["completed"] else None
    if "tags" in changed:
        fields["tag_keys"] = keys_of(changed["tags"])
    Task.objects.filter(pk=task.pk).update(**fields)
    for name, value in fields.items():
        setattr(task, name, value)
