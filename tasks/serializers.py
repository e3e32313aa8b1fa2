"""Validation of task input and the shape of task output."""

import functools
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import models
from django.utils.dateparse import parse_datetime
from django.utils.timezone import now
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from . import changes
from .models import DeletedTask, Priority, Task
from .reminders import MAX_OFFSET, MAX_REMINDERS, next_reminder_at
from .tags import tag_key


class StrictCharField(serializers.CharField):
    """A JSON string only (DRF would turn 42 into "42"), trimmed, with no control characters but line breaks
    and tabs where `multiline` allows them."""

    def __init__(self, *, multiline: bool = False, **kwargs) -> None:
        self.allowed_controls = {"\n", "\r", "\t"} if multiline else set()
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.", code="invalid")
        value = super().to_internal_value(data)
        if any(unicodedata.category(c) == "Cc" and c not in self.allowed_controls for c in value):
            raise serializers.ValidationError("Must not contain control characters.", code="invalid")
        return value


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false only (DRF would also take "yes", "on", 1, ...)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            raise serializers.ValidationError("Must be true or false.", code="invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only (DRF would also take "30" and 30.0; a boolean is an int in Python, and not one here)."""

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            raise serializers.ValidationError("Must be a whole number.", code="invalid")
        return super().to_internal_value(data)


class TagField(StrictCharField):
    """One tag: trimmed, 1 to 32 characters, no control characters and no commas (a comma separates tags in the
    places people type them)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=32, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if "," in value:
            raise serializers.ValidationError("Must not contain commas.", code="invalid")
        return value


class TagsField(serializers.ListField):
    """At most 20 tags; a tag that repeats an earlier one, compared case-insensitively, is dropped (the first
    spelling and the order are kept)."""

    max_tags = 20

    def __init__(self, **kwargs) -> None:
        super().__init__(child=TagField(), **kwargs)

    def to_internal_value(self, data):
        first_spellings: dict[str, str] = {}
        for tag in super().to_internal_value(data):
            first_spellings.setdefault(tag_key(tag), tag)
        tags = list(first_spellings.values())
        if len(tags) > self.max_tags:
            raise serializers.ValidationError(f"Ensure this field has no more than {self.max_tags} tags.")
        return tags

    def to_representation(self, value: list[str]) -> list[str]:
        return value  # stored as the API writes it: a JSON array of strings


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time string that carries its time zone (`Z` or an offset): a naive one is refused
    rather than read in some server's zone. Stored in UTC, written in UTC ending in Z."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date and time with a time zone, such as 2026-12-01T17:00:00Z.",
        "naive": "Must carry a time zone: end it with Z or an offset such as +02:00.",
    }

    def to_internal_value(self, data):
        parsed = None
        if isinstance(data, str):
            try:
                parsed = parse_datetime(data)
            except ValueError:  # well formed, but not a real date or time (February 30th)
                parsed = None
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None:
            self.fail("naive")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
            self.fail("invalid")


class PriorityField(serializers.ChoiceField):
    """A priority by name, `none` < `low` < `medium` < `high`; stored as its rank (`Priority`)."""

    default_error_messages = {"invalid_choice": f"Must be one of {', '.join(Priority.labels)}, not {{input!r}}."}
    ranks = {label: rank for rank, label in Priority.choices}
    labels = dict(Priority.choices)

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=Priority.labels, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or data not in self.ranks:
            self.fail("invalid_choice", input=data)
        return self.ranks[data]

    def to_representation(self, value: int) -> str:
        return self.labels[value]  # a dict lookup: Priority(value).label cost ~5% of a list page's CPU


class RemindersField(serializers.ListField):
    """Minutes before `due_at`, each 0 to four weeks, at most 5 once duplicates are dropped; kept sorted."""

    def __init__(self, **kwargs) -> None:
        super().__init__(child=StrictIntegerField(min_value=0, max_value=MAX_OFFSET), **kwargs)

    def to_internal_value(self, data):
        offsets = sorted(set(super().to_internal_value(data)))
        if len(offsets) > MAX_REMINDERS:
            raise serializers.ValidationError(f"Ensure this field has no more than {MAX_REMINDERS} reminders.")
        return offsets

    def to_representation(self, value: list[int]) -> list[int]:
        return value  # stored as the API writes it: a sorted JSON array of integers


@extend_schema_field(OpenApiTypes.DATETIME)
class NextReminderField(serializers.ReadOnlyField):
    """When the task's next reminder fires: computed from the row as it is read (`due_at`, `reminders`,
    `completed`), not stored, so that it moves on by itself as reminders pass (tasks/reminders.py)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", allow_null=True, **kwargs)

    def to_representation(self, row) -> datetime | None:
        row = row if isinstance(row, dict) else row.__dict__
        due_at, offsets = row["due_at"], row["reminders"]
        if due_at is None or not offsets:  # most tasks: no clock read
            return None
        return next_reminder_at(due_at=due_at, reminders=offsets, completed=row["completed"], now=now())


# The to_representation of these fields gives what orjson writes for the database's value anyway (a UUID as its
# string, a UTC datetime in ISO 8601 ending in Z, strings, booleans and integers as they are; None stays None), so
# the list copies such values without a call per value (todo_project/json.py renders them).
VERBATIM = {
    serializers.UUIDField.to_representation,
    serializers.CharField.to_representation,
    serializers.BooleanField.to_representation,
    serializers.IntegerField.to_representation,
    serializers.DateTimeField.to_representation,
    TagsField.to_representation,
    RemindersField.to_representation,
}


class TaskSerializer(serializers.ModelSerializer):
    # Fields take their limits from the model's fields (max_length, blank, null, validators), as the database's
    # checks do (tasks/models.py, field_checks): a rule is declared once, on the model. Strings and integers are
    # taken as JSON strings and integers only.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        **{
            model_field: StrictIntegerField
            for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
            if field is serializers.IntegerField
        },
    }
    completed = StrictBooleanField(required=False)
    due_at = AwareDateTimeField(allow_null=True, required=False)
    priority = PriorityField(required=False)
    tags = TagsField(required=False)
    reminders = RemindersField(required=False)
    next_reminder_at = NextReminderField()

    class Meta:
        model = Task
        fields = [
            "id",
            "user_id",
            "title",
            "description",
            "completed",
            "due_at",
            "priority",
            "tags",
            "completed_at",
            "version",
            "recurrence",
            "time_zone",
            "repeat_from",
            "occurrence",
            "next_id",
            "reminders",
            "next_reminder_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "user_id",
            "completed_at",
            "version",
            "occurrence",
            "next_id",
            "next_reminder_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"description": {"multiline": True}, "recurrence": {"allow_blank": False}}

    def save(self, **kwargs):
        raise NotImplementedError("Tasks are written by tasks/writes.py, the one write path; this only validates.")

    def to_representation(self, instance: Task | dict) -> dict:
        """The task as DRF's fields would write it, from a model or from a list page's `.values()` row (of
        `columns()`)."""
        row = instance if isinstance(instance, dict) else instance.__dict__
        return {
            name: write(row) if whole_row else row[name] if write is None or row[name] is None else write(row[name])
            for name, write, whole_row in self.writers()
        }

    @classmethod
    @functools.cache
    def writers(cls) -> tuple[tuple[str, Callable | None, bool], ...]:
        """Each field of Meta.fields with its to_representation, or None where the renderer writes the database's
        value as that method would, and whether it is made from the whole row (`next_reminder_at`) rather than
        its column: field by field, DRF's own loop cost a large share of a list request's CPU (BENCHMARKS.md),
        mostly looking up the current time zone twice per task."""
        return tuple(
            (
                name,
                None if field.to_representation.__func__ in VERBATIM else field.to_representation,
                field.source == "*",
            )
            for name, field in cls().fields.items()
        )

    @classmethod
    @functools.cache
    def columns(cls) -> tuple[str, ...]:
        """The columns a task's representation is made of: what a list, the feed and the export read (`.values()`),
        the fields of Meta.fields but those made from the whole row (their inputs are among the others)."""
        return tuple(name for name, _, whole_row in cls.writers() if not whole_row)


class CompleteSerializer(serializers.Serializer):
    """Body of PATCH .../complete: `completed` sets the state; without it the state flips."""

    completed = StrictBooleanField(required=False)


class AccountExportSerializer(serializers.Serializer):
    """The export document (GET .../account/export): every task of the user, as the API shows them."""

    user_id = serializers.CharField()
    exported_at = serializers.DateTimeField()
    tasks = TaskSerializer(many=True)


class CursorField(serializers.CharField):
    """A changes-feed cursor this API issued to this user (422 otherwise; 410 when too old)."""

    def to_internal_value(self, data):
        try:
            return changes.decode_cursor(super().to_internal_value(data), user_id=self.context["user_id"])
        except ValueError as error:
            raise serializers.ValidationError(str(error), code="invalid") from None


class ChangesQuerySerializer(serializers.Serializer):
    """The query of GET .../tasks/changes."""

    since = CursorField(required=False, allow_blank=False)
    limit = serializers.IntegerField(required=False, min_value=1, default=changes.DEFAULT_LIMIT)

    def to_internal_value(self, data):
        # Like page_size: empty means absent, and a larger limit is capped rather than refused.
        values = super().to_internal_value({name: value for name, value in data.items() if value != ""})
        return {"cursor": values.get("since"), "limit": min(values["limit"], changes.MAX_LIMIT)}


class DeletedTaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeletedTask
        fields = ["id", "deleted_at"]

    def to_representation(self, instance: dict) -> dict:
        # Built directly from a row, as TaskSerializer's output is; the renderer writes the UUID and UTC datetime.
        return {"id": instance["id"], "deleted_at": instance["deleted_at"]}


class ChangesPageSerializer(serializers.Serializer):
    """A page of the changes feed: `changes` and `deleted` after the cursor sent; follow `cursor` while `has_more`."""

    changes = TaskSerializer(many=True, help_text="Tasks created or changed after `since`, in their current state.")
    deleted = DeletedTaskSerializer(many=True, help_text="Tasks deleted after `since` (never on a page without it).")
    cursor = serializers.CharField(help_text="Opaque; send it as `since` to get what changes next.")
    has_more = serializers.BooleanField(help_text="More changes are ready now: call again with `cursor` at once.")


class TagCountSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The first spelling seen on the user's tasks.")
    count = serializers.IntegerField(help_text="How many of the user's tasks carry the tag.")


@extend_schema_serializer(many=False)  # the whole body of a list action, not one item of an array
class TagListSerializer(serializers.Serializer):
    """The body of GET .../tags (documentation only: the view writes it directly)."""

    results = TagCountSerializer(many=True)
