"""`version` and `completed_at`: two columns, added in one short transaction (docs/deploy.md, "Migrations").

PostgreSQL 11+ adds a column with a constant default (`version`, 1) or none (`completed_at`) by changing only the
catalog: no row is rewritten, so the lock is held for an instant, and `lock_timeout` makes the ALTER give up rather
than queue behind a long transaction (with every query queued behind it). 0007 then fills `completed_at`.
On SQLite Django rebuilds the table to add a NOT NULL column, which drops the triggers of 0002 (counts) and 0005
(changes feed): they are installed again, after this migration and after undoing it.
"""

from django.db import migrations, models

from tasks.triggers import ReinstallTriggers


def set_lock_timeout(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL lock_timeout = '5s'")


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0005_changes_feed_idempotency"),
    ]

    operations = [
        # Undoing this migration rebuilds the SQLite table too: the last step undone puts the triggers back.
        ReinstallTriggers(),
        migrations.RunPython(set_lock_timeout, migrations.RunPython.noop),
        migrations.AddField(
            model_name="task",
            name="completed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="task",
            name="version",
            field=models.IntegerField(db_default=1, default=1),
        ),
        ReinstallTriggers(),
    ]
