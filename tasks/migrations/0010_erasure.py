"""What the changes feed remembers of an account erasure, without the user id (tasks/changes.py, "Erasures")."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0009_due_priority_tag_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='Erasure',
            fields=[
                ('subject', models.CharField(max_length=64, primary_key=True, serialize=False)),
                ('erased_at', models.DateTimeField()),
                ('change_position', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['erased_at'], name='erasure_erased_at_idx')],
            },
        ),
    ]
