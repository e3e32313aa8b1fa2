"""Per-user task counts, kept by triggers in the same transaction as every change to tasks_task.

PostgreSQL: statement-level triggers over transition tables, so a bulk insert (COPY, bulk_create) or a bulk delete
updates each user's row once, users in a fixed order (two bulk statements cannot deadlock on them), and an UPDATE that
changes neither owner nor state writes nothing. SQLite: row-level triggers. The rows already there are counted once,
with writes to tasks_task held off until the migration commits.
"""

from django.db import migrations, models

# The changes of one statement, as (user_id, total, completed) deltas, applied in user order.
APPLY_DELTAS = """
    INSERT INTO tasks_taskcount AS counts (user_id, total, completed)
    SELECT user_id, sum(total), sum(completed) FROM ({deltas}) AS delta
    GROUP BY user_id HAVING sum(total) <> 0 OR sum(completed) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE
    SET total = counts.total + excluded.total, completed = counts.completed + excluded.completed;
"""
ADDED = "SELECT user_id, 1 AS total, completed::int AS completed FROM new_tasks"
REMOVED = "SELECT user_id, -1 AS total, -completed::int AS completed FROM old_tasks"
CHANGED = f"{ADDED} UNION ALL {REMOVED}"

POSTGRESQL = [
    "LOCK TABLE tasks_task IN SHARE ROW EXCLUSIVE MODE",
    f"""
    CREATE FUNCTION tasks_taskcount_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {APPLY_DELTAS.format(deltas=ADDED)}
        ELSIF TG_OP = 'DELETE' THEN
            {APPLY_DELTAS.format(deltas=REMOVED)}
        ELSIF TG_OP = 'UPDATE' THEN
            {APPLY_DELTAS.format(deltas=CHANGED)}
        ELSE
            DELETE FROM tasks_taskcount;
        END IF;
        RETURN NULL;
    END $$
    """,
    """CREATE TRIGGER tasks_taskcount_insert AFTER INSERT ON tasks_task REFERENCING NEW TABLE AS new_tasks
       FOR EACH STATEMENT EXECUTE FUNCTION tasks_taskcount_apply()""",
    """CREATE TRIGGER tasks_taskcount_delete AFTER DELETE ON tasks_task REFERENCING OLD TABLE AS old_tasks
       FOR EACH STATEMENT EXECUTE FUNCTION tasks_taskcount_apply()""",
    """CREATE TRIGGER tasks_taskcount_update AFTER UPDATE ON tasks_task
       REFERENCING NEW TABLE AS new_tasks OLD TABLE AS old_tasks
       FOR EACH STATEMENT EXECUTE FUNCTION tasks_taskcount_apply()""",
    """CREATE TRIGGER tasks_taskcount_truncate AFTER TRUNCATE ON tasks_task
       FOR EACH STATEMENT EXECUTE FUNCTION tasks_taskcount_apply()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER tasks_taskcount_insert ON tasks_task",
    "DROP TRIGGER tasks_taskcount_delete ON tasks_task",
    "DROP TRIGGER tasks_taskcount_update ON tasks_task",
    "DROP TRIGGER tasks_taskcount_truncate ON tasks_task",
    "DROP FUNCTION tasks_taskcount_apply()",
]

# OR IGNORE: the user's row may exist already. completed is stored as 0 or 1.
SQLITE_ADD = """
    INSERT OR IGNORE INTO tasks_taskcount (user_id, total, completed) VALUES (NEW.user_id, 0, 0);
    UPDATE tasks_taskcount SET total = total + 1, completed = completed + NEW.completed WHERE user_id = NEW.user_id;
"""
SQLITE_REMOVE = """
    UPDATE tasks_taskcount SET total = total - 1, completed = completed - OLD.completed WHERE user_id = OLD.user_id;
"""
SQLITE = [
    f"CREATE TRIGGER tasks_taskcount_insert AFTER INSERT ON tasks_task BEGIN {SQLITE_ADD} END",
    f"CREATE TRIGGER tasks_taskcount_delete AFTER DELETE ON tasks_task BEGIN {SQLITE_REMOVE} END",
    f"""CREATE TRIGGER tasks_taskcount_update AFTER UPDATE OF user_id, completed ON tasks_task
        WHEN OLD.user_id IS NOT NEW.user_id OR OLD.completed IS NOT NEW.completed
        BEGIN {SQLITE_REMOVE} {SQLITE_ADD} END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER tasks_taskcount_insert",
    "DROP TRIGGER tasks_taskcount_delete",
    "DROP TRIGGER tasks_taskcount_update",
]

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
