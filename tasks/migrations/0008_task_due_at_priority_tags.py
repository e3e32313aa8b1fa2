"""`due_at`, `priority` and `tags`: columns and the priority check, in one short transaction (docs/deploy.md).

The columns are nullable or have a constant default, which PostgreSQL 11+ adds to the catalog without rewriting the
table; the check on `priority` is added NOT VALID, so the ALTER does not scan the rows under its lock (0009 validates
it under a lock that lets reads and writes go on). `lock_timeout` makes an ALTER give up rather than queue behind a
long transaction. On SQLite Django rebuilds the table instead, which drops the triggers of 0002 (counts) and 0005 (changes feed): they are
installed again, after this migration and after undoing it.
"""

import importlib

from django.db import migrations, models

from tasks.triggers import ReinstallTriggers

# The same two steps as 0006: a short lock_timeout, and the SQLite triggers put back after the table rebuild.
set_lock_timeout = importlib.import_module("tasks.migrations.0006_task_version_completed_at").set_lock_timeout
PRIORITY_RANK = models.CheckConstraint(condition=models.Q(priority__gte=0, priority__lte=3), name="task_priority_rank")


class AddCheckNotValid(migrations.AddConstraint):
    """AddConstraint for a check, added NOT VALID on PostgreSQL: existing rows are checked later, by 0009."""

    check_sql = "priority >= 0 AND priority <= 3"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        schema_editor.execute(
            f"ALTER TABLE tasks_task ADD CONSTRAINT {self.constraint.name} CHECK ({self.check_sql}) NOT VALID"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0007_fill_completed_at"),
    ]

    operations = [
        # Undoing this migration rebuilds the SQLite table too: the last step undone puts the triggers back.
        ReinstallTriggers(),
        migrations.RunPython(set_lock_timeout, migrations.RunPython.noop),
        migrations.AddField(
            model_name="task",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="task",
            name="priority",
            field=models.SmallIntegerField(
                choices=[(0, "none"), (1, "low"), (2, "medium"), (3, "high")], db_default=0, default=0
            ),
        ),
        migrations.AddField(
            model_name="task",
            name="tags",
            field=models.JSONField(blank=True, db_default=[], default=list),
        ),
        migrations.AddField(
            model_name="task",
            name="tag_keys",
            field=models.JSONField(db_default=[], default=list, editable=False),
        ),
        AddCheckNotValid(model_name="task", constraint=PRIORITY_RANK),
        ReinstallTriggers(),
    ]
