"""When a task's reminders fire: `due_at` minus each offset, while the task is open. Computed from the task's own
fields wherever it is needed (the API's `next_reminder_at`, the outbox's schedule, the worker's last check before it
sends), so the three always agree and nothing stored can drift from the task."""

from datetime import datetime, timedelta

# An offset is at most four weeks before the due date, in minutes; a task has at most this many.
MAX_OFFSET = 4 * 7 * 24 * 60
MAX_REMINDERS = 5


def times(*, due_at: datetime | None, reminders: list[int], completed: bool) -> list[tuple[datetime, int]]:
    """(remind_at, offset) of each reminder of a task in this state, earliest first: none while it is completed or
    has no due date."""
    if completed or due_at is None:
        return []
    return sorted((due_at - timedelta(minutes=offset), offset) for offset in reminders)


def next_reminder_at(
    *, due_at: datetime | None, reminders: list[int], completed: bool, now: datetime
) -> datetime | None:
    """The earliest reminder still to come, or None."""
    return next((at for at, _ in times(due_at=due_at, reminders=reminders, completed=completed) if at > now), None)
