"""The changes feed's positions and tombstones, kept by triggers, and the table of idempotent requests.

PostgreSQL: a row trigger stamps every inserted or updated task with the id of the transaction writing it
(pg_current_xact_id()); a statement trigger turns every deleted task into a tombstone stamped the same way.
SQLite (one writer at a time): the same, with positions from a one-row counter incremented by each write. Adding the
column rebuilds tasks_task on SQLite, which drops its triggers: the counters' triggers (0002) are installed again.
tasks/changes.py explains why these positions make a correct feed.
"""
import importlib

from django.db import migrations, models


POSITION = "pg_current_xact_id()::text::bigint"
POSTGRESQL = [
    f"""
    CREATE FUNCTION tasks_task_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.change_position := {POSITION};
        RETURN NEW;
    END $$
    """,
    """CREATE TRIGGER tasks_task_stamp_change BEFORE INSERT OR UPDATE ON tasks_task
       FOR EACH ROW EXECUTE FUNCTION tasks_task_stamp_change()""",
    f"""
    CREATE FUNCTION tasks_task_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO tasks_deletedtask (id, user_id, deleted_at, change_position)
        SELECT id, user_id, now(), {POSITION} FROM old_tasks
        ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, deleted_at = excluded.deleted_at,
            change_position = excluded.change_position;
        RETURN NULL;
    END $$
    """,
    """CREATE TRIGGER tasks_task_tombstone AFTER DELETE ON tasks_task REFERENCING OLD TABLE AS old_tasks
       FOR EACH STATEMENT EXECUTE FUNCTION tasks_task_tombstone()""",
    # The oldest transaction of this database still in flight, or the next one to start if none is (tasks/changes.py).
    # The in-flight transactions of the snapshot are all counted except those seen running in another database, which
    # cannot write these tables; a transaction that ended meanwhile is counted, which only makes the horizon lower.
    # A plpgsql function so that its plan is cached per server connection (planning was most of its time).
    """
    CREATE FUNCTION tasks_changes_horizon() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
    BEGIN
        RETURN (
            SELECT coalesce(min(xip::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
            FROM pg_snapshot_xip(pg_current_snapshot()) AS xip
            WHERE mod(xip::text::bigint, 4294967296) NOT IN (
                SELECT backend_xid::text::bigint FROM pg_stat_get_activity(NULL)
                WHERE backend_xid IS NOT NULL
                AND datid <> (SELECT oid FROM pg_database WHERE datname = current_database())
            )
        );
    END $$
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER tasks_task_stamp_change ON tasks_task",
    "DROP TRIGGER tasks_task_tombstone ON tasks_task",
    "DROP FUNCTION tasks_task_stamp_change()",
    "DROP FUNCTION tasks_task_tombstone()",
    "DROP FUNCTION tasks_changes_horizon()",
]

TICK = "UPDATE tasks_changeclock SET position = position + 1;"
NOW = "(SELECT position FROM tasks_changeclock)"
SQLITE = [
    "CREATE TABLE tasks_changeclock (id integer PRIMARY KEY CHECK (id = 1), position integer NOT NULL)",
    "INSERT INTO tasks_changeclock (id, position) VALUES (1, 0)",
    f"""CREATE TRIGGER tasks_task_stamp_insert AFTER INSERT ON tasks_task BEGIN
        {TICK} UPDATE tasks_task SET change_position = {NOW} WHERE id = NEW.id; END""",
    # Not fired again by its own stamp (SQLite triggers do not recurse) nor by the insert trigger's, which moves
    # change_position to the counter; fired by every other UPDATE, Model.save() writing back a loaded position too.
    f"""CREATE TRIGGER tasks_task_stamp_update AFTER UPDATE ON tasks_task
        WHEN NEW.change_position IS OLD.change_position OR NEW.change_position IS NOT {NOW} BEGIN
        {TICK} UPDATE tasks_task SET change_position = {NOW} WHERE id = NEW.id; END""",
    f"""CREATE TRIGGER tasks_task_tombstone AFTER DELETE ON tasks_task BEGIN
        {TICK} INSERT OR REPLACE INTO tasks_deletedtask (id, user_id, deleted_at, change_position)
        VALUES (OLD.id, OLD.user_id, strftime('%Y-%m-%d %H:%M:%f', 'now'), {NOW}); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER tasks_task_stamp_insert",
    "DROP TRIGGER tasks_task_stamp_update",
    "DROP TRIGGER tasks_task_tombstone",
    "DROP TABLE tasks_changeclock",
]


def install_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = POSTGRESQL
    elif vendor == "sqlite":
        counters = importlib.import_module("tasks.migrations.0002_taskcount")
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tasks_task'")
            present = {name for (name,) in cursor.fetchall()}
        missing = [sql for sql in counters.SQLITE if sql.split()[2] not in present]
        statements = [*missing, *SQLITE]
    else:
        raise NotImplementedError(f"The changes feed is kept by triggers for PostgreSQL and SQLite, not {vendor}.")
    for sql in statements:
        schema_editor.execute(sql)


def remove_triggers(apps, schema_editor):
    for sql in POSTGRESQL_REVERSE if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE:
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0004_list_order_tie_breaker'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeletedTask',
            fields=[
                ('id', models.UUIDField(primary_key=True, serialize=False)),
                ('user_id', models.CharField(max_length=255)),
                ('deleted_at', models.DateTimeField()),
                ('change_position', models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name='IdempotentRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.CharField(max_length=255)),
                ('key', models.CharField(max_length=255)),
                ('fingerprint', models.CharField(max_length=64)),
                ('created_at', models.DateTimeField()),
                ('status', models.PositiveSmallIntegerField(null=True)),
                ('body', models.TextField(blank=True, default='')),
                ('location', models.TextField(blank=True, default='')),
                ('etag', models.CharField(blank=True, default='', max_length=32)),
            ],
        ),
        migrations.AddField(
            model_name='task',
            name='change_position',
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['user_id', 'change_position', 'id'], name='task_user_change_idx'),
        ),
        migrations.AddIndex(
            model_name='deletedtask',
            index=models.Index(fields=['user_id', 'change_position', 'id'], name='deletedtask_user_change_idx'),
        ),
        migrations.AddIndex(
            model_name='deletedtask',
            index=models.Index(fields=['deleted_at'], name='deletedtask_deleted_at_idx'),
        ),
        migrations.AddIndex(
            model_name='idempotentrequest',
            index=models.Index(fields=['created_at'], name='idempotentrequest_created_idx'),
        ),
        migrations.AddConstraint(
            model_name='idempotentrequest',
            constraint=models.UniqueConstraint(fields=('user_id', 'key'), name='idempotentrequest_user_key'),
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
