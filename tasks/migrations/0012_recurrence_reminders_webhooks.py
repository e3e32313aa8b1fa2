"""Recurrence, reminders and the webhook outbox: the task's new columns and checks, and the outbox table.

As 0008: the columns are nullable or have a constant default (no table rewrite on PostgreSQL), the checks are added
NOT VALID (0013 validates them without blocking writes), `lock_timeout` makes an ALTER give up rather than queue, and
on SQLite, which rebuilds the table, the triggers are installed again after this migration and after undoing it.
"""

import importlib
import uuid

import django.core.validators
from django.db import migrations, models

import tasks.models
from tasks.triggers import ReinstallTriggers

set_lock_timeout = importlib.import_module("tasks.migrations.0006_task_version_completed_at").set_lock_timeout


class AddCheckNotValid(migrations.AddConstraint):
    """AddConstraint for a check, added NOT VALID on PostgreSQL: the rows already there are checked by 0013."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        check = self.constraint.constraint_sql(model, schema_editor)
        schema_editor.execute(f"ALTER TABLE {model._meta.db_table} ADD {check} NOT VALID")


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0011_task_constraint_messages"),
    ]

    operations = [
        # Undoing this migration rebuilds the SQLite table too: the last step undone puts the triggers back.
        ReinstallTriggers(),
        migrations.RunPython(set_lock_timeout, migrations.RunPython.noop),
        migrations.CreateModel(
            name="WebhookMessage",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("webhook_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("user_id", models.CharField(max_length=255)),
                ("task_id", models.UUIDField()),
                ("type", models.CharField(max_length=32)),
                ("data", models.JSONField()),
                ("created_at", models.DateTimeField()),
                ("next_attempt_at", models.DateTimeField()),
                ("attempts", models.IntegerField(default=0)),
                ("leased_until", models.DateTimeField(blank=True, null=True)),
                ("delivered_at", models.DateTimeField(blank=True, null=True)),
                ("failed_at", models.DateTimeField(blank=True, null=True)),
                ("last_error", models.CharField(blank=True, default="", max_length=255)),
            ],
        ),
        migrations.AddField(
            model_name="task",
            name="next_id",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="task",
            name="occurrence",
            field=models.IntegerField(
                db_default=1, default=1, validators=[django.core.validators.MinValueValidator(1)]
            ),
        ),
        migrations.AddField(
            model_name="task",
            name="recurrence",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="task",
            name="reminders",
            field=models.JSONField(blank=True, db_default=[], default=list, validators=[tasks.models.validate_reminders]),
        ),
        migrations.AddField(
            model_name="task",
            name="repeat_from",
            field=models.CharField(
                choices=[("due", "Due"), ("completion", "Completion")], db_default="due", default="due", max_length=10
            ),
        ),
        migrations.AddField(
            model_name="task",
            name="time_zone",
            field=models.CharField(
                db_default="UTC", default="UTC", max_length=64, validators=[tasks.models.validate_time_zone]
            ),
        ),
        AddCheckNotValid(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(("recurrence__isnull", True), ("recurrence__length__lte", 255), _connector="OR"),
                name="task_recurrence_length",
                violation_error_message="Ensure this field has no more than 255 characters.",
            ),
        ),
        AddCheckNotValid(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(("time_zone__length__gte", 1), ("time_zone__length__lte", 64)),
                name="task_time_zone_length",
                violation_error_message="Ensure this field has 1 to 64 characters.",
            ),
        ),
        AddCheckNotValid(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(("repeat_from__in", ["completion", "due"])),
                name="task_repeat_from_choice",
                violation_error_message="Must be one of Due, Completion.",
            ),
        ),
        AddCheckNotValid(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(("occurrence__gte", 1)),
                name="task_occurrence_range",
                violation_error_message="Ensure this value is at least 1.",
            ),
        ),
        migrations.AddIndex(
            model_name="webhookmessage",
            index=models.Index(
                condition=models.Q(("delivered_at__isnull", True), ("failed_at__isnull", True)),
                fields=["next_attempt_at"],
                name="webhook_pending_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="webhookmessage",
            index=models.Index(
                condition=models.Q(("delivered_at__isnull", True), ("failed_at__isnull", True)),
                fields=["task_id", "id"],
                name="webhook_task_pending_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="webhookmessage",
            index=models.Index(fields=["user_id"], name="webhook_user_idx"),
        ),
        ReinstallTriggers(),
    ]
