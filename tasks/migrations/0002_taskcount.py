"""Per-user task counts, kept by triggers in the same transaction as every change to tasks_task.

PostgreSQL: statement-level triggers over transition tables, so a bulk insert (COPY, bulk_create) or a bulk delete
updates each user's row once, users in a fixed order (two bulk statements cannot deadlock on them), and an UPDATE that
changes neither owner nor state writes nothing. SQLite: row-level triggers. The rows already there are counted once,
with writes to tasks_task held off until the migration commits.
"""

from django.db import migrations, models

from tasks import triggers

# The SQL of the triggers lives in tasks/triggers.py, with the feed's.
POSTGRESQL, POSTGRESQL_REVERSE = triggers.COUNTS_POSTGRESQL, triggers.COUNTS_POSTGRESQL_REVERSE
SQLITE, SQLITE_REVERSE = triggers.COUNTS_SQLITE, triggers.COUNTS_SQLITE_REVERSE

COUNT_EXISTING = """
    INSERT INTO tasks_taskcount (user_id, total, completed)
    SELECT user_id, count(*), sum(CASE WHEN completed THEN 1 ELSE 0 END) FROM tasks_task GROUP BY user_id
"""


def statements(schema_editor, *, forward: bool) -> list[str]:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        return [*POSTGRESQL, COUNT_EXISTING] if forward else POSTGRESQL_REVERSE
    if vendor == "sqlite":
        return [*SQLITE, COUNT_EXISTING] if forward else SQLITE_REVERSE
    raise NotImplementedError(f"Task counts are kept by triggers written for PostgreSQL and SQLite, not {vendor}.")


def install_triggers(apps, schema_editor):
    for sql in statements(schema_editor, forward=True):
        schema_editor.execute(sql)


def remove_triggers(apps, schema_editor):
    for sql in statements(schema_editor, forward=False):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="TaskCount",
            fields=[
                ("user_id", models.CharField(max_length=255, primary_key=True, serialize=False)),
                ("total", models.BigIntegerField(default=0)),
                ("completed", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
