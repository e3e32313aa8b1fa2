"""The messages of the task's checks, now derived from its fields (tasks/models.py, field_checks): no SQL runs."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0010_erasure'),
    ]

    operations = [
        migrations.AlterConstraint(
            model_name='task',
            name='task_title_length',
            constraint=models.CheckConstraint(condition=models.Q(('title__length__gte', 1), ('title__length__lte', 100)), name='task_title_length', violation_error_message='Ensure this field has 1 to 100 characters.'),
        ),
        migrations.AlterConstraint(
            model_name='task',
            name='task_description_length',
            constraint=models.CheckConstraint(condition=models.Q(('description__isnull', True), ('description__length__lte', 1000), _connector='OR'), name='task_description_length', violation_error_message='Ensure this field has no more than 1000 characters.'),
        ),
        migrations.AlterConstraint(
            model_name='task',
            name='task_priority_rank',
            constraint=models.CheckConstraint(condition=models.Q(('priority__gte', 0), ('priority__lte', 3)), name='task_priority_rank', violation_error_message='Must be one of none, low, medium, high.'),
        ),
    ]
