"""The checks 0012 added NOT VALID, validated under a lock (SHARE UPDATE EXCLUSIVE) that lets reads and writes go
on. Not atomic, so that each validation holds its lock only as long as its own scan; validating a valid check does
nothing, so this can run again after a failure."""

from django.db import migrations

CHECKS = ["task_recurrence_length", "task_time_zone_length", "task_repeat_from_choice", "task_occurrence_range"]


def validate_checks(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in CHECKS:
            schema_editor.execute(f"ALTER TABLE tasks_task VALIDATE CONSTRAINT {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tasks", "0012_recurrence_reminders_webhooks"),
    ]

    operations = [
        migrations.RunPython(validate_checks, migrations.RunPython.noop),
    ]
