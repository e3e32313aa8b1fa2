"""The task: one row per to-do item of a Better Auth user."""

import functools
import uuid
import zoneinfo

import orjson
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Length

from . import reminders as reminder_times
from .tags import keys_of

# Lets the constraints below say title__length (https://docs.djangoproject.com/en/5.2/ref/models/lookups/).
models.CharField.register_lookup(Length)


def field_checks(prefix: str, **fields: models.Field) -> list[models.CheckConstraint]:
    """A CheckConstraint for each rule these fields declare, so that the database keeps them too (the admin, the
    shell, bulk writes) while the serializer reads the same rules from the fields: a rule is written once, on its
    field. Named `<prefix>_<field>_<rule>`; a `null` field may also be NULL; the message is what the API answers
    (422, todo_project/errors.py) when a write breaks one anyway."""
    checks = []
    for name, field in fields.items():
        for rule, condition, message in field_rules(name, field):
            if field.null:
                condition = models.Q(**{f"{name}__isnull": True}) | condition
            checks.append(
                models.CheckConstraint(
                    condition=condition, name=f"{prefix}_{name}_{rule}", violation_error_message=message
                )
            )
    return checks


def field_rules(name: str, field: models.Field) -> list[tuple[str, models.Q, str]]:
    """(rule, condition, message) for each rule `field` declares: `length` (a CharField's max_length, and at least
    one character unless `blank`), `rank` (integer `choices`, as an IntegerChoices), `range` (MinValueValidator,
    MaxValueValidator)."""
    rules = []
    if isinstance(field, models.CharField) and field.max_length and not field.choices:  # choices say it all
        at_least = {} if field.blank else {f"{name}__length__gte": 1}
        span = f"no more than {field.max_length}" if field.blank else f"1 to {field.max_length}"
        condition = models.Q(**at_least, **{f"{name}__length__lte": field.max_length})
        rules.append(("length", condition, f"Ensure this field has {span} characters."))
    if field.choices:
        values = sorted(value for value, _ in field.choices)
        labels = ", ".join(str(label) for _, label in field.choices)
        if all(isinstance(value, int) for value in values) and values == list(range(values[0], values[-1] + 1)):
            condition = models.Q(**{f"{name}__gte": values[0], f"{name}__lte": values[-1]})
        else:
            condition = models.Q(**{f"{name}__in": values})
        rules.append(("rank" if isinstance(values[0], int) else "choice", condition, f"Must be one of {labels}."))
    bounds = {}
    # The validators declared on the field (its `validators` also holds the column type's own range).
    for validator in field.deconstruct()[3].get("validators", []):
        if isinstance(validator, MinValueValidator):
            bounds[f"{name}__gte"] = validator.limit_value
        elif isinstance(validator, MaxValueValidator):
            bounds[f"{name}__lte"] = validator.limit_value
    if bounds:
        words = {"gte": "at least", "lte": "at most"}
        limits = " and ".join(f"{words[key[-3:]]} {value}" for key, value in bounds.items())
        rules.append(("range", models.Q(**bounds), f"Ensure this value is {limits}."))
    return rules


class Priority(models.IntegerChoices):
    """Stored as its rank, so that ordering by priority is ordering by rank; named by its label in the API."""

    NONE = 0, "none"
    LOW = 1, "low"
    MEDIUM = 2, "medium"
    HIGH = 3, "high"


class JSONListField(models.JSONField):
    """A JSON array (the tags, the reminders' offsets), read with orjson: Django's JSONField decoded each row's tags
    with json.loads, which was the largest single cost the new fields added to a list page (BENCHMARKS.md). The same
    column and values as JSONField, so it deconstructs as one: no migration."""

    def from_db_value(self, value, expression, connection):
        if not isinstance(value, str):
            return value  # NULL, or a value SQLite's JSON functions already extracted
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value  # as JSONField: a key transform's plain string

    def deconstruct(self):
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA names zoneinfo knows (from the tzdata package: the same on every host)."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in time_zones():
        raise ValidationError(f"Must be an IANA time zone name such as Europe/Berlin, not {value!r}.", code="invalid")


def validate_reminders(value) -> None:
    """Offsets as the API stores them: whole minutes 0 to MAX_OFFSET, distinct, sorted, at most MAX_REMINDERS."""
    limit = reminder_times.MAX_OFFSET
    if not isinstance(value, list) or not all(type(offset) is int and 0 <= offset <= limit for offset in value):
        raise ValidationError(f"Must be a list of whole minutes from 0 to {limit}.", code="invalid")
    if value != sorted(set(value)) or len(value) > reminder_times.MAX_REMINDERS:
        raise ValidationError(
            f"Must be at most {reminder_times.MAX_REMINDERS} distinct offsets, in increasing order.", code="invalid"
        )


class RepeatFrom(models.TextChoices):
    """Where a recurring task's next due date is counted from (tasks/recurrence.py)."""

    DUE = "due"
    COMPLETION = "completion"


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The Better Auth user id (the JWT's sub); users live in Better Auth, not here.
    user_id = models.CharField(max_length=255)
    title = models.CharField(max_length=100)
    # null and "" differ in the contract: null is "no description".
    description = models.CharField(max_length=1000, null=True, blank=True)  # noqa: DJ001
    completed = models.BooleanField(default=False)
    due_at = models.DateTimeField(null=True, blank=True)
    # db_default (here and below): rows written outside the ORM (a COPY, the benchmark's load) get it too.
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.NONE, db_default=Priority.NONE)
    # The tags as given (trimmed, first spellings, in order), and the same casefolded: what filters and counts
    # compare (tasks/tags.py). Task.save() and tasks/writes.py keep tag_keys in step with tags.
    tags = JSONListField(default=list, db_default=[], blank=True)
    tag_keys = JSONListField(default=list, db_default=[], editable=False)
    # When the task last became completed; None while it is open. Kept by the server (tasks/writes.py).
    completed_at = models.DateTimeField(null=True, blank=True)
    # An RFC 5545 RRULE value (tasks/recurrence.py checks it), read in `time_zone`'s wall clock from `due_at`.
    recurrence = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 (null: does not recur)
    time_zone = models.CharField(max_length=64, default="UTC", db_default="UTC", validators=[validate_time_zone])
    repeat_from = models.CharField(
        max_length=10, choices=RepeatFrom.choices, default=RepeatFrom.DUE, db_default=RepeatFrom.DUE
    )
    # 1 for a new task, the previous one's + 1 for each next occurrence of a recurring task.
    occurrence = models.IntegerField(default=1, db_default=1, validators=[MinValueValidator(1)])
    # The next occurrence this task's completion created: set once, never again (tasks/writes.py), kept if that
    # task is deleted. Not a foreign key: the next occurrence's deletion must not touch this row.
    next_id = models.UUIDField(null=True, blank=True, editable=False)
    # Minutes before `due_at` at which a reminder fires (tasks/outbox.py schedules them).
    reminders = JSONListField(default=list, db_default=[], blank=True, validators=[validate_reminders])
    # 1 on create, + 1 on every change: what a conditional request (ETag, If-Match) names.
    version = models.IntegerField(default=1, db_default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Where the task's last change sits in the changes feed: set by a database trigger on every INSERT and UPDATE
    # (tasks/triggers.py), so the admin, the shell and bulk writes keep it too. See tasks/changes.py.
    change_position = models.BigIntegerField(default=0, editable=False)

    class Meta:
        indexes = [
            # In the order of a list page, ties broken by id (tasks/filters.py): read straight off the index.
            models.Index(fields=["user_id", "-created_at", "-id"], name="task_user_created_idx"),
            models.Index(fields=["user_id", "completed", "-created_at", "-id"], name="task_user_completed_idx"),
            # A page of the changes feed is one range scan of this index.
            models.Index(fields=["user_id", "change_position", "id"], name="task_user_change_idx"),
            # priority=: the page and its count off one index, in list order.
            models.Index(fields=["user_id", "priority", "-created_at", "-id"], name="task_user_priority_idx"),
            # ordering=due_at: ascending puts NULLs last on PostgreSQL, as the list wants (tasks/filters.py).
            models.Index(fields=["user_id", "due_at", "-created_at", "-id"], name="task_user_due_idx"),
            # overdue=true: the open tasks' due dates only.
            models.Index(
                fields=["user_id", "due_at"], condition=models.Q(completed=False), name="task_user_open_due_idx"
            ),
            # tag= on PostgreSQL: a GIN index on (user_id, tag_keys), created in migration 0008 (not expressible here).
        ]

    # The rules the fields above declare, kept by the database too (a name in the class body, which Meta's cannot see).
    Meta.constraints = field_checks(
        "task",
        title=title,
        description=description,
        priority=priority,
        recurrence=recurrence,
        time_zone=time_zone,
        repeat_from=repeat_from,
        occurrence=occurrence,
    )

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        self.tag_keys = keys_of(self.tags)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "tags" in update_fields:
            kwargs["update_fields"] = {*update_fields, "tag_keys"}
        super().save(*args, **kwargs)


class TaskCount(models.Model):
    """How many tasks, and how many of them completed, each user has: kept by database triggers (tasks/triggers.py),
    so that the count of a list page is one row read instead of a count(*) over every task of the user."""

    user_id = models.CharField(max_length=255, primary_key=True)
    total = models.BigIntegerField(default=0)
    completed = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.total} tasks, {self.completed} completed"


class DeletedTask(models.Model):
    """A tombstone: a deleted task, remembered so the changes feed can tell other devices. Written by a database
    trigger on every DELETE of a task (tasks/triggers.py); kept at least `CHANGES_RETENTION` (tasks/changes.py)."""

    id = models.UUIDField(primary_key=True)  # the deleted task's id
    user_id = models.CharField(max_length=255)
    deleted_at = models.DateTimeField()
    change_position = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["user_id", "change_position", "id"], name="deletedtask_user_change_idx"),
            models.Index(fields=["deleted_at"], name="deletedtask_deleted_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id} (deleted {self.deleted_at:%Y-%m-%d %H:%M})"


class Erasure(models.Model):
    """An erasure of a user's data, remembered so that a device holding a changes-feed cursor from before it is
    told to sync again (410) instead of keeping the erased tasks (tasks/changes.py, "Erasures"). Keyed by a keyed
    digest of the user id, never the id itself: no `user_id` field, so it is not one of the rows the erasure removes,
    and nothing here names the user. Kept as long as tombstones."""

    subject = models.CharField(max_length=64, primary_key=True)  # HMAC-SHA256 of the user id (changes.subject_of)
    erased_at = models.DateTimeField()
    # The erasure's own position in the changes feed: a larger one for every later erasure.
    change_position = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["erased_at"], name="erasure_erased_at_idx")]

    def __str__(self) -> str:
        return f"{self.subject[:12]}... (erased {self.erased_at:%Y-%m-%d %H:%M})"


class IdempotentRequest(models.Model):
    """A write sent with an `Idempotency-Key`, and the response it got, replayed to retries (tasks/idempotency.py).
    Committed in the same transaction as the write itself; kept at least `IDEMPOTENCY_RETENTION`."""

    user_id = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    # sha256 of the operation, its target and the canonical JSON body: a retry must be the same request.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    # Written with the response, so never null; nullable from when the key was claimed before the write.
    status = models.PositiveSmallIntegerField(null=True)
    body = models.TextField(blank=True, default="")
    location = models.TextField(blank=True, default="")
    etag = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "key"], name="idempotentrequest_user_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotentrequest_created_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key}"


class WebhookMessage(models.Model):
    """A webhook to deliver: an event of a committed write, or a reminder at its time. Written in the write's own
    transaction (tasks/outbox.py), so a message exists if and only if its write committed; delivered by the worker
    (tasks/delivery.py), which never holds a transaction while it POSTs. Only written while WEBHOOK_URL is set."""

    # Rows are claimed in this order: a task's events leave in the order of its changes.
    id = models.BigAutoField(primary_key=True)
    # The `webhook-id` header: the same on every attempt of this message.
    webhook_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user_id = models.CharField(max_length=255)
    task_id = models.UUIDField()
    type = models.CharField(max_length=32)  # task.reminder, task.created, ... (settings.WEBHOOK_EVENT_TYPES)
    # The envelope's `data` as it was when the write committed; a reminder's (remind_at, offset_minutes) gets the
    # task as it is when sent.
    data = models.JSONField()
    # The event's time: when the write committed, or when the reminder is due. Nothing is sent before it.
    created_at = models.DateTimeField()
    # When the next attempt may start (created_at at first, later after each failure's delay).
    next_attempt_at = models.DateTimeField()
    attempts = models.IntegerField(default=0)
    # A worker is sending it until then: another may take it over after (a worker killed mid-delivery).
    leased_until = models.DateTimeField(null=True, blank=True)
    # The first 2xx; or when retrying stopped (after WEBHOOK_RETRY_FOR): `manage.py webhooks retry --failed`.
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        indexes = [
            # The worker's scan: the pending messages whose time has come.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(delivered_at__isnull=True, failed_at__isnull=True),
                name="webhook_pending_idx",
            ),
            # A task's pending messages: its earlier events (order), its reminders (rescheduling).
            models.Index(
                fields=["task_id", "id"],
                condition=models.Q(delivered_at__isnull=True, failed_at__isnull=True),
                name="webhook_task_pending_idx",
            ),
            models.Index(fields=["user_id"], name="webhook_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.webhook_id}"
