"""The indexes of the new filters, built without blocking writes, and the priority check validated (docs/deploy.md).

Not atomic: `CREATE INDEX CONCURRENTLY` cannot run in a transaction. Each step can run again after a failure: an
index a failed build left behind (invalid) is dropped and built again, and validating a valid check does nothing.
"""

from django.db import migrations, models


class AddIndexConcurrently(migrations.AddIndex):
    """AddIndex, built CONCURRENTLY on PostgreSQL so that writes go on while it builds (django.contrib.postgres has
    one for PostgreSQL alone; this project also migrates SQLite, where the build is a plain one)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {self.index.name}")
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)


def validate_priority_check(apps, schema_editor):
    """Reads every row, under a lock (SHARE UPDATE EXCLUSIVE) that lets reads and writes go on."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE tasks_task VALIDATE CONSTRAINT task_priority_rank")


def create_tag_index(apps, schema_editor):
    """tag= on PostgreSQL: one GIN index scan finds one user's tasks that carry a tag (btree_gin, from 0003, lets
    user_id sit in a GIN index). fastupdate off, as for the search indexes of 0003."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS task_user_tags_idx")
        schema_editor.execute(
            "CREATE INDEX CONCURRENTLY task_user_tags_idx ON tasks_task USING gin (user_id, tag_keys jsonb_path_ops)"
            " WITH (fastupdate = off)"
        )


def drop_tag_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS task_user_tags_idx")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tasks", "0008_task_due_at_priority_tags"),
    ]

    operations = [
        migrations.RunPython(validate_priority_check, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="task",
            index=models.Index(fields=["user_id", "priority", "-created_at", "-id"], name="task_user_priority_idx"),
        ),
        AddIndexConcurrently(
            model_name="task",
            index=models.Index(fields=["user_id", "due_at", "-created_at", "-id"], name="task_user_due_idx"),
        ),
        AddIndexConcurrently(
            model_name="task",
            index=models.Index(
                condition=models.Q(completed=False), fields=["user_id", "due_at"], name="task_user_open_due_idx"
            ),
        ),
        migrations.RunPython(create_tag_index, drop_tag_index),
    ]
