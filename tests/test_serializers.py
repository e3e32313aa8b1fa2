"""TaskSerializer's direct representation, of a model or a list page's row, renders exactly as DRF's fields do."""

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from tasks.models import Task
from tasks.serializers import TaskSerializer
from todo_project.json import ORJSONRenderer

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

    drf = ORJSONRenderer().render(super(TaskSerializer, serializer).to_representation(task))

    assert ORJSONRenderer().render(serializer.to_representation(task)) == drf
    row = Task.objects.values(*TaskSerializer.columns()).get(pk=task.pk)  # how a list page reads tasks
    assert ORJSONRenderer().render(serializer.to_representation(row)) == drf
    assert orjson.loads(drf)["created_at"] == stamp.isoformat().replace("+00:00", "Z")


def test_the_renderer_refuses_a_type_it_does_not_know():
    """A value orjson cannot write is a bug where it was made: an error, never whatever str() makes of it."""
    with pytest.raises(TypeError):
        ORJSONRenderer().render({"amount": Decimal("1.5")})
