"""A field's rule, declared once on the model: the API validates it, the database keeps it, and a write that breaks
it anyway (a rule the serializer does not know, a bug) is a 409 or 422 JSON error, never a 500."""

import pytest
from django.db import DatabaseError, connection, models, transaction
from rest_framework.exceptions import ValidationError

from tasks.models import IdempotentRequest, Task, field_checks
from tasks.serializers import TaskSerializer
from todo_project.errors import exception_handler

pytestmark = pytest.mark.django_db

# The field, the value, and the message of the check; PostgreSQL refuses a string longer than its varchar before the
# check, and says so in the words of max_length.
OUT_OF_RANGE = [
    ("title", "", "Ensure this field has 1 to 100 characters."),
    ("title", "x" * 101, "Ensure this field has 1 to 100 characters."),
    ("description", "x" * 1001, "Ensure this field has no more than 1000 characters."),
    ("priority", 4, "Must be one of none, low, medium, high."),
    ("priority", -1, "Must be one of none, low, medium, high."),
]
TOO_LONG = {"title": "Ensure this field has no more than 100 characters."}


def refused(write) -> DatabaseError:
    """The database's refusal of `write` (an IntegrityError; a DataError for a string too long for PostgreSQL's
    varchar), in a savepoint so the test goes on."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        write()
    return caught.value


@pytest.mark.parametrize(("field", "value", "message"), OUT_OF_RANGE)
def test_the_database_keeps_each_rule_of_the_fields(make_task, field, value, message):
    task = make_task(user_id="alice")
    refused(lambda: Task.objects.filter(pk=task.pk).update(**{field: value}))  # no validation on this path
    refused(lambda: Task.objects.create(user_id="alice", **{"title": "Valid", field: value}))


# Committed, as in production: a refused statement inside the test's own transaction would break it.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("field", "value", "message"), OUT_OF_RANGE)
@pytest.mark.parametrize("write", ["create", "update"])
def test_a_value_the_serializer_let_through_is_a_422_naming_the_field(
    alice, make_task, monkeypatch, field, value, message, write
):
    """As if the serializer did not know the rule (a field added without it): the database refuses the write, and
    the one exception handler answers what validation would have."""
    task = make_task(user_id="alice", title="Before")
    monkeypatch.setattr(TaskSerializer, "validate", lambda self, attrs: {**attrs, field: value})
    if write == "create":
        response = alice.post("/api/tasks", {"title": "Valid"}, format="json")
    else:
        response = alice.patch(f"/api/tasks/{task.id}", {"title": "Valid"}, format="json")
    assert response.status_code == 422, response.content
    if connection.vendor == "postgresql" and len(str(value)) > 100:
        message = TOO_LONG.get(field, message)
    assert response.json() == {"detail": f"{field}: {message}", "errors": {field: [message]}}
    assert list(Task.objects.values_list("title", "version")) == [("Before", 1)]


def test_a_duplicate_that_reaches_the_database_is_a_409(make_task):
    task = make_task(user_id="alice")
    error = refused(lambda: Task.objects.create(id=task.id, user_id="bob", title="Same id"))
    response = exception_handler(error, {})
    assert response.status_code == 409
    assert response.data == {"detail": response.data["detail"], "code": "conflict"}


def test_a_missing_value_that_reaches_the_database_is_a_422_naming_the_field(make_task):
    task = make_task(user_id="alice")
    error = refused(lambda: Task.objects.filter(pk=task.pk).update(title=None))
    response = exception_handler(error, {})
    assert (response.status_code, response.data["errors"]) == (422, {"title": ["This field may not be null."]})


def test_the_check_django_writes_for_a_column_type_is_a_422_naming_the_field(make_task):
    """A PositiveSmallIntegerField's `>= 0` is a check on the column, in no model's Meta."""
    error = refused(
        lambda: IdempotentRequest.objects.create(user_id="a", key="k", created_at="2026-01-01T00:00Z", status=-1)
    )
    response = exception_handler(error, {})
    assert (response.status_code, list(response.data["errors"])) == (422, ["status"])


def test_the_api_and_the_database_take_the_rule_from_the_field(alice, monkeypatch):
    """One declaration: a shorter max_length on the model's field is what the serializer enforces, and what the
    database check would be (a migration then changes the check)."""
    title = Task._meta.get_field("title")
    monkeypatch.setattr(title, "max_length", 50)
    response = alice.post("/api/tasks", {"title": "x" * 51}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"] == {"title": ["Ensure this field has no more than 50 characters."]}
    (check,) = field_checks("task", title=title)
    assert (check.name, dict(check.condition.children)) == (
        "task_title_length",
        {"title__length__gte": 1, "title__length__lte": 50},
    )


@pytest.mark.parametrize("model_field", [models.IntegerField, models.PositiveIntegerField, models.SmallIntegerField])
def test_an_integer_field_of_the_model_takes_json_integers_only(model_field):
    """DRF's IntegerField takes "30" and 30.0; the API takes what its JSON says (as for strings and booleans)."""
    field = TaskSerializer.serializer_field_mapping[model_field](min_value=0, max_value=10)
    assert field.run_validation(3) == 3
    for sent in ["3", 3.0, True, 11]:
        with pytest.raises(ValidationError):
            field.run_validation(sent)
