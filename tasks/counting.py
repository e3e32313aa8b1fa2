"""The per-user task counters (`TaskCount`): read by the list when they answer its count, rebuilt on demand.

A list page needs the count of the user's tasks (or of their open or completed ones). count(*) reads every entry of
the user's index, which grows with the user's tasks (BENCHMARKS.md, "Numbers behind the comments"). The triggers of
migration 0002 keep one row per user up to date in the same transaction as every INSERT, UPDATE and DELETE, so these
counts are one primary-key read. Only the list view uses them, and only for the filters they count
(`TaskViewSet.stored_count`); every other caller (admin, shell, search) counts with the database as usual.
On SQLite, a migration that rebuilds tasks_task drops its triggers: tests/test_counts.py checks that they are there.
"""

from django.db import connections, transaction
from django.db.models import Count, Q


def stored_count(*, user_id: str, completed: bool | None, using: str = "default") -> int:
    """How many tasks the user has (`completed=None`), or how many completed or open ones, from `TaskCount`."""
    # Plain SQL: for this one-row read, building the ORM query cost more CPU than the database's work.
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT total, completed FROM tasks_taskcount WHERE user_id = %s", [user_id])
        total, done = cursor.fetchone() or (0, 0)
    if completed is None:
        return total
    return done if completed else total - done


Counts = tuple[int, int]  # (total, completed)


def recount(*, user_id: str | None = None, using: str = "default") -> list[tuple[str, Counts, Counts]]:
    """Rebuild the counters from the rows (all users, or one) and return what was wrong, as
    (user_id, (total, completed) stored, (total, completed) counted)."""
    from .models import Task, TaskCount

    tasks, counters = Task.objects.using(using), TaskCount.objects.using(using)
    if user_id is not None:
        tasks, counters = tasks.filter(user_id=user_id), counters.filter(user_id=user_id)
    with transaction.atomic(using=using):
        if connections[using].vendor == "postgresql":
            # Writes wait until the commit (reads do not), so that none slips between the count and the correction.
            with connections[using].cursor() as cursor:
                cursor.execute("LOCK TABLE tasks_task IN SHARE MODE")
        counted = {
            row["user_id"]: (row["total"], row["done"])
            for row in tasks.values("user_id").annotate(total=Count("id"), done=Count("id", filter=Q(completed=True)))
        }
        stored = {row.user_id: (row.total, row.completed) for row in counters}
        fixed = []
        for user in sorted(counted.keys() | stored.keys()):
            right, kept = counted.get(user, (0, 0)), stored.get(user, (0, 0))
            if right != kept:
                counters.update_or_create(user_id=user, defaults={"total": right[0], "completed": right[1]})
                fixed.append((user, kept, right))
    return fixed
