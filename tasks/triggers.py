"""The triggers on tasks_task, in one place: the per-user counters (migration 0002) and the changes feed (0005).

The database keeps both, so that every write is counted and stamped, the admin's, the shell's and bulk writes too
(tasks/counting.py and tasks/changes.py say why each is correct). Migrations install them from here.

On SQLite, a migration that makes Django rebuild tasks_task (adding a NOT NULL column or a check, altering or removing
a field: Django copies the table) drops every trigger on it, the feed's with the counters', silently: the counts drift
and the feed misses changes. Such a migration ends with ReinstallTriggers(), and starts with it too, for when it is
undone (undoing rebuilds the table again). PostgreSQL alters tables in place and keeps its triggers.

These are the triggers in force. Changing one: its new SQL replaces the old here, and a new migration drops the old
trigger and runs ReinstallTriggers(). A database migrated from zero then gets the new SQL from the earlier migrations
that run ReinstallTriggers() too (0006 on): the new SQL may only name columns that exist by then, or the writes of
the migrations in between fail.
"""

# ruff: noqa: S608 (the SQL here is built from this module's constants only)
from django.db import migrations

# The changes of one statement, as (user_id, total, completed) deltas, applied in user order.
COUNTS_APPLY_DELTAS = """
    INSERT INTO tasks_taskcount AS counts (user_id, total, completed)
    SELECT user_id, sum(total), sum(completed) FROM ({deltas}) AS delta
    GROUP BY user_id HAVING sum(total) <> 0 OR sum(completed) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE
    SET total = counts.total + excluded.total, completed = counts.completed + excluded.completed;
"""
COUNTS_ADDED = "SELECT user_id, 1 AS total, completed::int AS completed FROM new_tasks"
COUNTS_REMOVED = "SELECT user_id, -1 AS total, -completed::int AS completed FROM old_tasks"
COUNTS_CHANGED = f"{COUNTS_ADDED} UNION ALL {COUNTS_REMOVED}"

COUNTS_POSTGRESQL = [
    "LOCK TABLE tasks_task IN SHARE ROW EXCLUSIVE MODE",
    f"""
    CREATE FUNCTION tasks_taskcount_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {COUNTS_APPLY_DELTAS.format(deltas=COUNTS_ADDED)}
        ELSIF TG_OP = 'DELETE' THEN
            {COUNTS_APPLY_DELTAS.format(deltas=COUNTS_REMOVED)}
        ELSIF TG_OP = 'UPDATE' THEN
            {COUNTS_APPLY_DELTAS.format(deltas=COUNTS_CHANGED)}
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
COUNTS_POSTGRESQL_REVERSE = [
    "DROP TRIGGER tasks_taskcount_insert ON tasks_task",
    "DROP TRIGGER tasks_taskcount_delete ON tasks_task",
    "DROP TRIGGER tasks_taskcount_update ON tasks_task",
    "DROP TRIGGER tasks_taskcount_truncate ON tasks_task",
    "DROP FUNCTION tasks_taskcount_apply()",
]

# OR IGNORE: the user's row may exist already. completed is stored as 0 or 1.
COUNTS_SQLITE_ADD = """
    INSERT OR IGNORE INTO tasks_taskcount (user_id, total, completed) VALUES (NEW.user_id, 0, 0);
    UPDATE tasks_taskcount SET total = total + 1, completed = completed + NEW.completed WHERE user_id = NEW.user_id;
"""
COUNTS_SQLITE_REMOVE = """
    UPDATE tasks_taskcount SET total = total - 1, completed = completed - OLD.completed WHERE user_id = OLD.user_id;
"""
COUNTS_SQLITE = [
    f"CREATE TRIGGER tasks_taskcount_insert AFTER INSERT ON tasks_task BEGIN {COUNTS_SQLITE_ADD} END",
    f"CREATE TRIGGER tasks_taskcount_delete AFTER DELETE ON tasks_task BEGIN {COUNTS_SQLITE_REMOVE} END",
    f"""CREATE TRIGGER tasks_taskcount_update AFTER UPDATE OF user_id, completed ON tasks_task
        WHEN OLD.user_id IS NOT NEW.user_id OR OLD.completed IS NOT NEW.completed
        BEGIN {COUNTS_SQLITE_REMOVE} {COUNTS_SQLITE_ADD} END""",
]
COUNTS_SQLITE_REVERSE = [
    "DROP TRIGGER tasks_taskcount_insert",
    "DROP TRIGGER tasks_taskcount_delete",
    "DROP TRIGGER tasks_taskcount_update",
]

FEED_POSITION = "pg_current_xact_id()::text::bigint"
FEED_POSTGRESQL = [
    f"""
    CREATE FUNCTION tasks_task_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.change_position := {FEED_POSITION};
        RETURN NEW;
    END $$
    """,
    """CREATE TRIGGER tasks_task_stamp_change BEFORE INSERT OR UPDATE ON tasks_task
       FOR EACH ROW EXECUTE FUNCTION tasks_task_stamp_change()""",
    f"""
    CREATE FUNCTION tasks_task_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO tasks_deletedtask (id, user_id, deleted_at, change_position)
        SELECT id, user_id, now(), {FEED_POSITION} FROM old_tasks
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
FEED_POSTGRESQL_REVERSE = [
    "DROP TRIGGER tasks_task_stamp_change ON tasks_task",
    "DROP TRIGGER tasks_task_tombstone ON tasks_task",
    "DROP FUNCTION tasks_task_stamp_change()",
    "DROP FUNCTION tasks_task_tombstone()",
    "DROP FUNCTION tasks_changes_horizon()",
]

FEED_TICK = "UPDATE tasks_changeclock SET position = position + 1;"
FEED_NOW = "(SELECT position FROM tasks_changeclock)"
FEED_SQLITE = [
    "CREATE TABLE tasks_changeclock (id integer PRIMARY KEY CHECK (id = 1), position integer NOT NULL)",
    "INSERT INTO tasks_changeclock (id, position) VALUES (1, 0)",
    f"""CREATE TRIGGER tasks_task_stamp_insert AFTER INSERT ON tasks_task BEGIN
        {FEED_TICK} UPDATE tasks_task SET change_position = {FEED_NOW} WHERE id = NEW.id; END""",
    # Not fired again by its own stamp (SQLite triggers do not recurse) nor by the insert trigger's, which moves
    # change_position to the counter; fired by every other UPDATE, Model.save() writing back a loaded position too.
    f"""CREATE TRIGGER tasks_task_stamp_update AFTER UPDATE ON tasks_task
        WHEN NEW.change_position IS OLD.change_position OR NEW.change_position IS NOT {FEED_NOW} BEGIN
        {FEED_TICK} UPDATE tasks_task SET change_position = {FEED_NOW} WHERE id = NEW.id; END""",
    f"""CREATE TRIGGER tasks_task_tombstone AFTER DELETE ON tasks_task BEGIN
        {FEED_TICK} INSERT OR REPLACE INTO tasks_deletedtask (id, user_id, deleted_at, change_position)
        VALUES (OLD.id, OLD.user_id, strftime('%Y-%m-%d %H:%M:%f', 'now'), {FEED_NOW}); END""",
]
FEED_SQLITE_REVERSE = [
    "DROP TRIGGER tasks_task_stamp_insert",
    "DROP TRIGGER tasks_task_stamp_update",
    "DROP TRIGGER tasks_task_tombstone",
    "DROP TABLE tasks_changeclock",
]

# Every trigger on tasks_task on SQLite, as installed now: what a table rebuild drops and ReinstallTriggers puts back.
SQLITE_TRIGGERS = [*COUNTS_SQLITE, *(sql for sql in FEED_SQLITE if sql.startswith("CREATE TRIGGER"))]


class ReinstallTriggers(migrations.operations.base.Operation):
    """On SQLite, install again every trigger of SQLITE_TRIGGERS that a rebuild of tasks_task dropped, forwards and
    backwards; nothing on PostgreSQL. Changes no model state."""

    reversible = True
    reduces_to_sql = False

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            for sql in SQLITE_TRIGGERS:
                schema_editor.execute(sql.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self.database_forwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return "Install again the triggers on tasks_task that a SQLite table rebuild dropped"

    @property
    def migration_name_fragment(self):
        return "reinstall_triggers"
