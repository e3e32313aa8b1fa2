"""Trigram indexes for `search=` on PostgreSQL (SQLite has no index for a substring match and needs none).

Django's icontains is `UPPER(column::text) LIKE UPPER(%s)`, so the indexes are on that expression, with the user id
first (btree_gin) so that one index scan finds one user's matches. For a user with 10,000 tasks, a search went
from 8.5 ms of SQL (every open task of the user read and matched) to 1.8 ms. Both extensions are trusted (PostgreSQL
13+): the database's owner can create them, on Neon too.

fastupdate is off: with it on (PostgreSQL's default), new entries wait in a pending list that every search reads
until VACUUM merges it. After the benchmark's writes that took counting a search from 0.8-1.1 ms to 2.8-3.5 ms;
with it off, writes were no slower (create 819-840 req/s, PUT 621-634, against 830 and 632 with it on).
"""

from django.db import migrations

INDEXES = {
    "task_title_trgm_idx": "title",
    "task_description_trgm_idx": "description",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Left in place by the reverse migration: other schemas of the database may use them.
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        for name, column in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX {name} ON tasks_task USING gin (user_id, (UPPER({column}::text)) gin_trgm_ops)"
                " WITH (fastupdate = off)"
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0002_taskcount"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes),
    ]
