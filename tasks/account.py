"""A user's data leaving with them: the export document and the erasure, shared by the API, the commands and the admin.

The export is read in keyset chunks of (created_at, id), never with `QuerySet.iterator()`: behind Neon's pooler
(PgBouncer in transaction mode) server-side cursors are off (`DISABLE_SERVER_SIDE_CURSORS`), and psycopg2 then reads
a whole result set into the client before the first row is seen, so 100,000 tasks would sit in the worker's memory
at once. Each chunk is one small query that starts where the last one ended, so memory stays that of one chunk.

Separate queries could see a task twice or miss it when the user writes meanwhile, so all chunks are read in one
transaction, REPEATABLE READ and READ ONLY on PostgreSQL: every query sees the snapshot of the first, and the document
is the tasks as they were at `exported_at`. On SQLite a transaction reads one snapshot as well (writers wait for its
end).

The whole document is read into a spooled temporary file (memory up to EXPORT_IN_MEMORY, disk past it) before the
response starts, and the transaction ends there; the view then gives its connection back (account_views.py). A
download holds a file, never a connection or a transaction, for as long as the client takes: held while the response
streamed, slow downloads took every pooled connection of the Procfile's workers, stalled every other user and left
backends "idle in transaction", holding back VACUUM (tests/test_slow_clients.py). An unreachable database is an
ordinary JSON error, since nothing has been sent yet.

The erasure is one transaction over every model of this app that has a `user_id` field, found from the models'
metadata so that a table added later is erased without anybody remembering to: tasks first, because deleting them
fires triggers that write to the other per-user tables (the counters), then the others. The tombstones go too, so
the same transaction records the erasure, without the user id, for the changes feed: a device holding a cursor from
before it is told to sync again (tasks/changes.py, "Erasures").
"""

import tempfile
from collections.abc import Iterator

from django.apps import apps
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from todo_project.json import ORJSONRenderer

from . import changes
from .models import Task
from .serializers import TaskSerializer

# Tasks read and rendered per query: each chunk is at most ~1 MB of JSON (a task is at most ~1.1 KB).
EXPORT_CHUNK_SIZE = 1000
EXPORT_FILENAME = "tasks-export.json"
# Bytes of an export document kept in memory (about a thousand tasks); a longer one spills into a temporary file.
EXPORT_IN_MEMORY = 1024 * 1024
# Bytes read from the document per piece of the response.
EXPORT_BLOCK_SIZE = 64 * 1024


def per_user_models() -> list[type[models.Model]]:
    """Every model of this app that keeps rows of one user (it has a `user_id` field), Task first."""
    found = [
        model
        for model in apps.get_app_config("tasks").get_models()
        if any(field.name == "user_id" for field in model._meta.concrete_fields)
    ]
    return sorted(found, key=lambda model: model is not Task)


def erase_user(*, user_id: str) -> dict[str, int]:
    """Delete every row kept about the user in one transaction, and record the erasure for the changes feed;
    return the rows removed per table."""
    removed = {}
    with transaction.atomic():
        for model in per_user_models():
            deleted, _ = model._default_manager.filter(user_id=user_id).delete()
            removed[model._meta.db_table] = deleted
        changes.record_erasure(user_id=user_id)
    return removed


def count_user_rows(*, user_id: str) -> dict[str, int]:
    """The rows `erase_user` would remove, per table."""
    return {model._meta.db_table: model._default_manager.filter(user_id=user_id).count() for model in per_user_models()}


class ExportDocument:
    """The export document of one user, read in one snapshot into a spooled temporary file when it is created.

    Iterating yields its bytes in blocks; `size` is their number. `close()` frees the file (Django calls it when the
    response is done, whether or not the client read it to the end).
    """

    def __init__(self, *, user_id: str) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=EXPORT_IN_MEMORY)  # noqa: SIM115 (closed by close())
        try:
            for chunk in export_chunks(user_id=user_id):
                self.file.write(chunk)
        except BaseException:
            self.file.close()
            raise
        self.size = self.file.tell()
        self.file.seek(0)

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self.file.read(EXPORT_BLOCK_SIZE), b"")

    def close(self) -> None:
        self.file.close()


def export_chunks(*, user_id: str) -> Iterator[bytes]:
    """{"user_id", "exported_at", "tasks": [...]} in pieces, all read in one snapshot (module docstring)."""
    render = ORJSONRenderer().render
    outermost = not connection.in_atomic_block  # inside a caller's transaction, its snapshot is the one we get
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        head = render({"user_id": user_id, "exported_at": timezone.now()})
        chunk = next_chunk(user_id=user_id, after=None)
        yield head[:-1] + b',"tasks":[' + render(TaskSerializer(chunk, many=True).data)[1:-1]
        while len(chunk) == EXPORT_CHUNK_SIZE:
            chunk = next_chunk(user_id=user_id, after=chunk[-1])
            if chunk:
                yield b"," + render(TaskSerializer(chunk, many=True).data)[1:-1]
        yield b"]}"


def next_chunk(*, user_id: str, after: dict | None) -> list[dict]:
    """The user's next tasks in (created_at, id) order, the first ones or those after the task `after`: rows for
    TaskSerializer, as a list page reads them (building models took most of a chunk's time: BENCHMARKS.md)."""
    tasks = Task.objects.filter(user_id=user_id)
    if after is not None:
        # created_at >= c bounds the index scan; the rest only skips the tasks created at c up to the last id.
        created_at, last_id = after["created_at"], after["id"]
        tasks = tasks.filter(created_at__gte=created_at).filter(Q(created_at__gt=created_at) | Q(id__gt=last_id))
    return list(tasks.order_by("created_at", "id").values(*TaskSerializer.columns())[:EXPORT_CHUNK_SIZE])
