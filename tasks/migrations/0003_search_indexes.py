"""Trigram indexes for `search=` on PostgreSQL (SQLite has no index for a substring match and needs none).

Django's icontains is `UPPER(column::text) LIKE UPPER(%s)`, so the indexes are on that expression, with the user id
first (btree_gin) so that one index scan finds one user's matches instead of every open task of the user being read
and matched (BENCHMARKS.md has the times). Both extensions are trusted (PostgreSQL 13+): the database's owner can
create them, on Neon too.

fastupdate is off: with it on (PostgreSQL's default), new entries wait in a pending list that every search reads
until VACUUM merges it, which after the benchmark's writes made counting a search several times slower; with it
off, writes were no slower (BENCHMARKS.md).
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
