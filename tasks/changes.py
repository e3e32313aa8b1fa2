"""The changes feed: every create, change and delete of a user's tasks, each delivered once, none skipped.

Positions. Every write stamps the task row (or, for a delete, its tombstone) with a position, in a database trigger
(tasks/triggers.py), so the admin, the shell and bulk writes are covered as well as the API. On PostgreSQL the position
is the id of the writing transaction, pg_current_xact_id(); on SQLite, where one transaction writes at a time, it
comes from a one-row counter that each write increments. A page is the rows after the cursor's (position, id) in
that order: one range scan of the (user_id, change_position, id) index of each table.

The horizon. Positions are taken when a transaction writes but become visible when it commits, and on PostgreSQL
transactions commit in any order: a transaction holding position 100 may commit after one holding 101. A reader that
saw 101 and moved its cursor past it would never see 100. So a page only includes rows below the horizon: the oldest
transaction still in flight in the reader's snapshot, pg_snapshot_xmin(pg_current_snapshot()), narrowed to this
database (a transaction seen running in another database cannot write these tables, so a long one there does not
hold this feed back; the SQL function tasks_changes_horizon() of tasks/triggers.py). Every transaction of this database
below the horizon has committed or rolled back, and every later one gets a larger id, so no row below it can appear
later, and the cursor (the last row delivered) never passes a position that could still appear. A change committed
late is delivered on the first page read after its commit. On SQLite every position up to the counter's value is
committed (the next writer waits for the commit), so the horizon is the counter plus one. The horizon is read once per
page, in the one statement that reads both tables, so they are cut at the same point.

Exactly once. The (position, id) order is total, a page continues strictly after the cursor and only covers rows
that can no longer change under it, so each state of a row is delivered at most once; a row written again gets a
new, larger position and is delivered again, in its new state. A long-running write transaction in this database
holds every feed back (it never loses anything) until it ends.

Cursors are signed (422 when forged or issued for another user) and carry the time since which the client may have
missed a deletion; tombstones are kept a day longer than a cursor lives, so a cursor older than CHANGES_RETENTION
is a 410 instead of a feed that silently misses deletions.

Erasures. An account erasure (tasks/account.py) removes the user's tombstones with their tasks, so the feed cannot
tell a device what went: a device must sync again instead (410, then a feed without `since`, which is empty). The
erasure leaves one row (Erasure) keyed by an HMAC of the user id, with a position of its own, larger for every later
erasure of anybody (the erasing transaction's id; on SQLite, a tick of the counter). Every cursor carries the
position of the latest erasure its pages already reflect (0: none), and a page after a cursor whose erasure is older
than the user's latest is a 410. Which erasure a page reflects is known from the order of statements, not from
positions: a statement sees every commit an earlier statement saw. A sync without `since` reads the erasure before
its page, so its page reflects that one at least (if a later one commits in between, the next page is a 410: a
needless restart, never a loss). A page after a cursor reads the erasure after its page, so an erasure its page
reflects is always seen, and that page is refused. Comparing the erasure's position with the cursor's instead would
be wrong: a write that took its position before the erasure and commits after it survives the erasure below the
erasure's position, and a fresh sync paging past it would be refused again and again. The row expires with the
tombstones: an erasure older than TOMBSTONE_RETENTION is older than every cursor still accepted, since a cursor's
`since` is never later than the page that issued it.
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from todo_project.errors import CursorExpired

from .models import DeletedTask, Erasure, Task

CHANGES_RETENTION = timedelta(days=30)
TOMBSTONE_RETENTION = CHANGES_RETENTION + timedelta(days=1)
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
START = (0, uuid.UUID(int=0))
HORIZON_SQL = {
    # Read once per page, in the statement's `horizon` (tasks/triggers.py has the function).
    "postgresql": "SELECT tasks_changes_horizon()",
    "sqlite": "SELECT position + 1 FROM tasks_changeclock",
}
# The erasure's position, taken in the erasing transaction ("Erasures" above); on SQLite after a tick of the counter.
ERASURE_POSITION = {
    "postgresql": "pg_current_xact_id()::text::bigint",
    "sqlite": "(SELECT position FROM tasks_changeclock)",
}
# A concurrent erasure of the same user may have committed first with a larger position: the larger is kept.
LARGER = {"postgresql": "greatest", "sqlite": "max"}
ERASED = "This account's data was erased after this cursor was issued; sync again from the start, without `since`."


@dataclass(frozen=True)
class Cursor:
    position: int
    task_id: uuid.UUID
    # Deletions from this time on may not have reached the client yet (an ISO 8601 string on the wire).
    since: str
    # The position of the user's latest erasure that the pages up to this cursor reflect; 0 for none.
    erased: int = 0


@dataclass
class ChangesPage:
    changes: list[dict]  # rows of the task fields asked for
    deleted: list[dict]  # {"id", "deleted_at"}
    cursor: str
    has_more: bool


def signer(*, user_id: str) -> signing.Signer:
    # The user is in the salt: a cursor issued for another user does not verify.
    return signing.Signer(salt=f"tasks.changes:{user_id}")


def encode_cursor(cursor: Cursor, *, user_id: str) -> str:
    return signer(user_id=user_id).sign_object([cursor.position, cursor.task_id.hex, cursor.since, cursor.erased])


def decode_cursor(value: str, *, user_id: str) -> Cursor:
    """The cursor, or ValueError when this API did not issue it to this user; CursorExpired when too old."""
    try:
        # Cursors issued before erasures were remembered have no fourth item: they reflect none.
        position, task_id, since, *erased = signer(user_id=user_id).unsign_object(value)
        if len(erased) > 1:
            raise ValueError("too many items")
        cursor = Cursor(int(position), uuid.UUID(hex=task_id), since, int(erased[0]) if erased else 0)
        issued = datetime.fromisoformat(since)
    except (signing.BadSignature, TypeError, ValueError) as error:
        raise ValueError("Not a cursor issued by this API for this user; start again without `since`.") from error
    if timezone.now() - issued > CHANGES_RETENTION:
        raise CursorExpired()
    return cursor


@functools.cache
def page_statement(vendor: str, task_fields: tuple[str, ...], *, with_deleted: bool) -> tuple[str, list]:
    """The SQL of a page and the output columns' fields, built once per process: this one statement written out
    costs a tenth of the CPU the ORM spent composing its union for every page (BENCHMARKS.md).

    The tasks after the cursor UNION ALL the tombstones after it, below the horizon, in (position, id) order: each
    table read by a range of its (user_id, change_position, id) index, in index order and stopped at the page's
    size, so a page reads at most a page of rows from each table however many follow (a first sync of 100,000 tasks
    included). One statement, so one snapshot, and the horizon computed once for both tables.

    The horizon is applied after each table's LIMIT, not in its range: the rows come in position order, so those
    below the horizon are a prefix of them either way, and an unknown bound in the range made PostgreSQL guess that
    a third of the user's rows matched and read them all into a sort (BENCHMARKS.md, "Sync")."""
    task = [Task._meta.get_field(name) for name in task_fields]
    deleted_at = DeletedTask._meta.get_field("deleted_at")
    after = "WHERE user_id = %s AND (change_position, id) > (%s, %s) ORDER BY change_position, id LIMIT %s"
    below = "WHERE change_position < (SELECT position FROM horizon)"
    # On PostgreSQL ids leave as text: psycopg2 made a UUID of each only for the renderer to write it back as the
    # same text (a tenth of a page's CPU). Ordered byte by byte ("C"), lowercase hex text sorts as the UUIDs do, so
    # the page's order stays the cursor's (position, id) order.
    task_id = 'CAST(id AS text) COLLATE "C"' if vendor == "postgresql" else "id"
    # Built from the models' column names and this module's constants: no input in it.
    columns = ", ".join(field.column for field in task)
    out = ", ".join(task_id if field.name == "id" else field.column for field in task)
    sql = (
        f"WITH horizon (position) AS ({HORIZON_SQL[vendor]}) "  # noqa: S608
        f"SELECT change_position, {out}, NULL AS deleted_at "
        f"FROM (SELECT change_position, {columns} FROM tasks_task {after}) AS changed {below} "
    )
    if with_deleted:
        nothing = ", ".join(task_id if field.name == "id" else "NULL" for field in task)
        sql += (
            f"UNION ALL SELECT change_position, {nothing}, deleted_at "  # noqa: S608
            f"FROM (SELECT change_position, id, deleted_at FROM tasks_deletedtask {after}) AS deleted {below} "
        )
        sql += f"ORDER BY 1, {2 + task_fields.index('id')} LIMIT %s"  # a union's order names its output columns
    else:
        sql += "ORDER BY changed.change_position, changed.id LIMIT %s"  # the index's own order: nothing to sort
    return sql, [None, *task, deleted_at]


def converters(field) -> tuple:
    """The column of `field` and what Django applies to its values read from the database (on SQLite: UUIDs,
    datetimes, booleans); (None, []) for none."""
    if field is None:
        return None, []
    column = field.get_col(field.model._meta.db_table)
    return column, connection.ops.get_db_converters(column) + field.get_db_converters(connection)


def read_page(*, user_id: str, cursor: Cursor | None, limit: int, task_fields: list[str]) -> ChangesPage:
    """One page of the user's feed after `cursor` (None: the current tasks from the start, no deletions), as rows,
    not models: up to 500 of them, only turned into JSON."""
    now = timezone.now().isoformat()
    # Without a cursor, the erasure is read before the page, so that the page reflects it ("Erasures" above).
    start = cursor or Cursor(*START, since=now, erased=latest_erasure(user_id=user_id))
    sql, fields = page_statement(connection.vendor, tuple(task_fields), with_deleted=cursor is not None)
    task_id = Task._meta.pk.get_db_prep_value(start.task_id, connection)
    arm = [user_id, start.position, task_id, limit + 1]
    with connection.cursor() as db:
        db.execute(sql, [*arm, *(arm if cursor is not None else []), limit + 1])
        raw = db.fetchall()
    # After a cursor, the erasure is read after the page: one that the page reflects is always seen.
    if cursor is not None and latest_erasure(user_id=user_id) > cursor.erased:
        raise CursorExpired(ERASED)
    convert = [(index, *converters(field)) for index, field in enumerate(fields)]
    convert = [(index, column, steps) for index, column, steps in convert if steps]
    rows = []
    for values in raw:
        values = list(values)
        for index, column, steps in convert:
            for step in steps:
                values[index] = step(values[index], column, connection)
        rows.append(values)
    has_more = len(rows) > limit
    rows = rows[:limit]
    id_index = 1 + task_fields.index("id")
    last = rows[-1] if rows else None
    next_cursor = Cursor(
        last[0] if last else start.position,
        uuid.UUID(str(last[id_index])) if last else start.task_id,
        # Caught up: deletions from now on are what the client may miss next; otherwise still those since before.
        start.since if has_more else now,
        start.erased,
    )
    return ChangesPage(
        changes=[dict(zip(task_fields, row[1:-1], strict=True)) for row in rows if row[-1] is None],
        deleted=[{"id": row[id_index], "deleted_at": row[-1]} for row in rows if row[-1] is not None],
        cursor=encode_cursor(next_cursor, user_id=user_id),
        has_more=has_more,
    )


def subjects_of(user_id: str) -> list[str]:
    """The keyed digests that name the user in the Erasure table: under SECRET_KEY first, then under each of
    SECRET_KEY_FALLBACKS, so that after a key rotation the erasures recorded before it are still found (as the
    cursors signed before it still verify)."""
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return [salted_hmac("tasks.changes.erasure", user_id, secret=key, algorithm="sha256").hexdigest() for key in keys]


def record_erasure(*, user_id: str) -> None:
    """Remember, in the erasing transaction, that the user's data was erased (module docstring, "Erasures")."""
    vendor = connection.vendor
    erased_at = Erasure._meta.get_field("erased_at").get_db_prep_value(timezone.now(), connection)
    with connection.cursor() as db:
        if vendor == "sqlite":
            db.execute("UPDATE tasks_changeclock SET position = position + 1")
        db.execute(
            "INSERT INTO tasks_erasure (subject, erased_at, change_position) "  # noqa: S608 (constants only)
            f"VALUES (%s, %s, {ERASURE_POSITION[vendor]}) ON CONFLICT (subject) DO UPDATE SET erased_at = "
            f"excluded.erased_at, change_position = {LARGER[vendor]}(tasks_erasure.change_position, "
            "excluded.change_position)",
            [subjects_of(user_id)[0], erased_at],
        )


def latest_erasure(*, user_id: str) -> int:
    """The position of the user's latest erasure still remembered; 0 for none."""
    positions = Erasure.objects.filter(subject__in=subjects_of(user_id)).values_list("change_position", flat=True)
    return max(positions, default=0)


def forget_old(*, now=None) -> dict[str, int]:
    """Delete tombstones and erasures past their retention; the rows removed."""
    now = now or timezone.now()
    removed, _ = DeletedTask.objects.filter(deleted_at__lt=now - TOMBSTONE_RETENTION).delete()
    erasures, _ = Erasure.objects.filter(erased_at__lt=now - TOMBSTONE_RETENTION).delete()
    return {"tombstones": removed, "erasures": erasures}
