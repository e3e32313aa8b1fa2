"""TaskSerializer's direct representation, of a model or a list page's row, is exactly what DRF's fields render."""

from datetime import UTC, datetime

import pytest

from tasks.models import Task
from tasks.serializers import TaskSerializer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "fields",
    [
        {"description": None, "completed": False},
        {"description": "", "completed": True},
        {"description": "Line one\nline two ✓", "completed": False},
    ],
)
@pytest.mark.parametrize("microsecond", [0, 1, 999_999])
def test_representation_matches_drf_fields(make_task, fields, microsecond):
    task = make_task(user_id="alice", title="Täsk", **fields)
    # A whole second too, where isoformat() leaves out the fraction.
    stamp = datetime(2026, 3, 1, 12, 30, 5, microsecond, tzinfo=UTC)
    Task.objects.filter(pk=task.pk).update(created_at=stamp, updated_at=stamp)
    task.refresh_from_db()
    serializer = TaskSerializer()

    drf = super(TaskSerializer, serializer).to_representation(task)

    assert serializer.to_representation(task) == drf
    assert list(serializer.to_representation(task)) == list(drf)
    row = Task.objects.values(*TaskSerializer.Meta.fields).get(pk=task.pk)  # how a list page reads tasks
    assert serializer.to_representation(row) == drf
