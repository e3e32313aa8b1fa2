"""completed_at = updated_at for the tasks completed before 0006, in batches (docs/deploy.md, "Migrations").

Not atomic: each batch of rows, walked by primary key, is its own short transaction, so readers are never blocked
and a writer waits at most for one batch. Safe to run again (it only fills what is still empty).
"""

from django.db import migrations
from django.db.models import F

BATCH_SIZE = 5000


def fill_completed_at(apps, schema_editor):
    tasks = apps.get_model("tasks", "Task").objects.using(schema_editor.connection.alias)
    last = None
    while True:
        batch = tasks.order_by("pk") if last is None else tasks.filter(pk__gt=last).order_by("pk")
        ids = list(batch.values_list("pk", flat=True)[:BATCH_SIZE])
        if not ids:
            return
        tasks.filter(pk__in=ids, completed=True, completed_at__isnull=True).update(completed_at=F("updated_at"))
        last = ids[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tasks", "0006_task_version_completed_at"),
    ]

    operations = [
        migrations.RunPython(fill_completed_at, migrations.RunPython.noop),
    ]
