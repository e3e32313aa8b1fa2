"""The changes feed's positions and tombstones, kept by triggers, and the table of idempotent requests.

PostgreSQL: a row trigger stamps every inserted or updated task with the id of the transaction writing it
(pg_current_xact_id()); a statement trigger turns every deleted task into a tombstone stamped the same way.
SQLite (one writer at a time): the same, with positions from a one-row counter incremented by each write. Adding the
column rebuilds tasks_task on SQLite, which drops its triggers: the counters' triggers (0002) are installed again.
tasks/changes.py explains why these positions make a correct feed.
"""
from django.db import migrations, models

from tasks import triggers


# The SQL of the triggers lives in tasks/triggers.py, with the counters'.
POSTGRESQL, POSTGRESQL_REVERSE = triggers.FEED_POSTGRESQL, triggers.FEED_POSTGRESQL_REVERSE
SQLITE, SQLITE_REVERSE = triggers.FEED_SQLITE, triggers.FEED_SQLITE_REVERSE


def install_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = POSTGRESQL
    elif vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tasks_task'")
            present = {name for (name,) in cursor.fetchall()}
        missing = [sql for sql in triggers.COUNTS_SQLITE if sql.split()[2] not in present]
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
