"""The webhook worker's steps against the real database, rows inserted directly: claiming and leases, each task's
order, retry delays, giving up and `webhooks retry --failed`, cancelled reminders, the purge, `webhooks pending`.
tests/test_webhooks_e2e.py runs the Procfile's worker against a receiver."""

import io
import uuid
from datetime import timedelta

import orjson
import pytest
from django.core.management import call_command
from django.utils import timezone
from prometheus_client import REGISTRY

from tasks import delivery
from tasks.delivery import REMINDER, Attempt, Outgoing
from tasks.models import Task, WebhookMessage

pytestmark = pytest.mark.django_db


def message(**fields) -> WebhookMessage:
    """A row as tasks/outbox.py writes it: due a second ago unless told otherwise."""
    now = timezone.now() - timedelta(seconds=1)
    task_id = fields.pop("task_id", uuid.uuid4())
    return WebhookMessage.objects.create(
        **{
            "user_id": "alice",
            "task_id": task_id,
            "type": "task.updated",
            "data": {"user_id": "alice", "task": {"id": str(task_id)}},
            "created_at": now,
            "next_attempt_at": now,
            **fields,
        }
    )


def reminder_of(task: Task, offset: int, **fields) -> WebhookMessage:
    remind_at = task.due_at - timedelta(minutes=offset)
    data = {"user_id": task.user_id, "remind_at": remind_at.isoformat(), "offset_minutes": offset}
    return message(task_id=task.id, type=REMINDER, data=data, created_at=remind_at, next_attempt_at=remind_at, **fields)


def answer(row: WebhookMessage, status: int | None) -> Attempt:
    """The attempt of a claimed row that got `status` (None: no answer)."""
    outgoing = Outgoing(
        row.id, str(row.webhook_id), row.type, row.attempts + 1, row.created_at, row.leased_until, b"{}"
    )
    error = "" if status and 200 <= status < 300 else f"HTTP {status}"
    return Attempt(outgoing, status, error, timezone.now(), 0.01)


def ids(rows) -> list[int]:
    return [row.id for row in rows]


# --- Claims and leases ------------------------------------------------------------------------------------------
def test_a_claim_leases_the_due_messages_only():
    now = timezone.now()
    due = message()
    message(next_attempt_at=now + timedelta(seconds=30))  # a retry later, or a reminder still to come
    message(delivered_at=now)
    message(failed_at=now)
    assert ids(delivery.claim(10, now=now)) == [due.id]
    due.refresh_from_db()
    assert due.leased_until == now + delivery.LEASE
    # Leased: no other claim takes it while the lease lives.
    assert delivery.claim(10, now=now + timedelta(seconds=1)) == []


def test_a_lease_that_ran_out_is_claimed_again_within_60_seconds():
    """A worker killed mid-delivery never records its attempt: the message goes to whoever claims after the lease."""
    now = timezone.now()
    row = message()
    assert ids(delivery.claim(10, now=now)) == [row.id]
    assert timedelta(seconds=60 - delivery.IDLE_POLL) > delivery.LEASE
    assert ids(delivery.claim(10, now=now + delivery.LEASE)) == [row.id]


def test_a_late_failure_leaves_a_message_another_worker_took_over_alone():
    now = timezone.now()
    message()
    [mine] = delivery.claim(1, now=now)
    [theirs] = delivery.claim(1, now=now + delivery.LEASE)
    delivery.record([answer(mine, 500)], now=now + delivery.LEASE)
    row = WebhookMessage.objects.get()
    assert (row.leased_until, row.attempts) == (theirs.leased_until, 0)


def test_a_message_not_sent_is_released_for_the_next_claim():
    """A worker stopping (SIGTERM) or one whose lease ran out while the message waited for a thread."""
    now = timezone.now()
    message()
    [row] = delivery.claim(1, now=now)
    unsent = Attempt(answer(row, None).outgoing, None, "", now, 0.0, sent=False)
    delivery.record([unsent], now=now)
    row.refresh_from_db()
    assert (row.leased_until, row.attempts, row.last_error) == (None, 0, "")
    assert ids(delivery.claim(1, now=now)) == [row.id]


def test_the_lease_outlasts_a_post():
    assert delivery.LEASE.total_seconds() > delivery.TIMEOUT * 2


def test_claims_take_the_earliest_due_first_and_at_most_the_limit():
    now = timezone.now()
    late = message(next_attempt_at=now - timedelta(seconds=1))
    early = message(next_attempt_at=now - timedelta(seconds=5))
    message(next_attempt_at=now)
    assert ids(delivery.claim(2, now=now)) == [early.id, late.id]


# --- Each task's order ------------------------------------------------------------------------------------------
def test_a_tasks_event_waits_for_its_earlier_pending_events():
    now = timezone.now()
    task_id = uuid.uuid4()
    first = message(task_id=task_id, type="task.created")
    second = message(task_id=task_id, type="task.updated")
    other_task = message()
    claimed = delivery.claim(10, now=now)
    assert ids(claimed) == [first.id, other_task.id]
    # Still waiting while the first is in flight, and while the first waits for a retry.
    assert delivery.claim(10, now=now) == []
    delivery.record([answer(claimed[0], 500)], now=now)
    assert WebhookMessage.objects.get(id=first.id).attempts == 1
    assert delivery.claim(10, now=now) == []
    WebhookMessage.objects.filter(id=first.id).update(delivered_at=now)
    assert ids(delivery.claim(10, now=now)) == [second.id]


def test_an_event_after_a_given_up_one_goes():
    now = timezone.now()
    task_id = uuid.uuid4()
    message(task_id=task_id, failed_at=now)
    second = message(task_id=task_id)
    assert ids(delivery.claim(10, now=now)) == [second.id]


def test_reminders_do_not_wait_for_events():
    now = timezone.now()
    task_id = uuid.uuid4()
    event = message(task_id=task_id, next_attempt_at=now + timedelta(seconds=60))
    reminder = message(task_id=task_id, type=REMINDER)
    assert ids(delivery.claim(10, now=now)) == [reminder.id]
    assert event.id < reminder.id


# --- Retries ----------------------------------------------------------------------------------------------------
def test_a_failure_is_retried_after_1_2_4_seconds_at_most_an_hour_apart():
    assert [delivery.delay_after(attempt) for attempt in range(1, 15)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600,
    ]  # fmt: skip
    assert delivery.delay_after(1000) == 3600


def test_a_failed_attempt_records_its_error_and_the_next_time():
    now = timezone.now()
    message()
    [row] = delivery.claim(1, now=now)
    delivery.record([answer(row, 503)], now=now)
    row.refresh_from_db()
    assert (row.attempts, row.last_error, row.leased_until, row.failed_at) == (1, "HTTP 503", None, None)
    assert row.next_attempt_at == now + timedelta(seconds=1)
    [row] = delivery.claim(1, now=row.next_attempt_at)
    delivery.record([answer(row, None)], now=now)
    row.refresh_from_db()
    assert (row.attempts, row.last_error, row.next_attempt_at) == (2, "HTTP None", now + timedelta(seconds=2))


def test_a_2xx_ends_the_message():
    now = timezone.now()
    row = message()
    delivery.claim(1, now=now)
    delivery.record([answer(row, 204)], now=now)
    row.refresh_from_db()
    assert (row.delivered_at, row.attempts, row.leased_until) == (now, 1, None)
    assert delivery.claim(10, now=now + timedelta(hours=1)) == []


def test_retrying_stops_after_24_hours_not_before():
    """Every failure at once (the receiver refuses): the last attempt is 24 h after the first, then it is given up."""
    created = timezone.now()
    row = message(created_at=created, next_attempt_at=created)
    clock = created
    while True:
        row.refresh_from_db()
        assert row.failed_at is None
        clock = row.next_attempt_at
        [claimed] = delivery.claim(1, now=clock)
        delivery.record([answer(claimed, 500)], now=clock)
        row.refresh_from_db()
        if row.failed_at is not None:
            break
    assert timedelta(hours=24) <= clock - created < timedelta(hours=25)
    assert delivery.claim(10, now=clock + timedelta(days=1)) == []


def test_retry_failed_sends_them_again_with_the_same_id():
    now = timezone.now()
    failed = message(failed_at=now, attempts=35, last_error="HTTP 500", next_attempt_at=now - timedelta(hours=1))
    out = io.StringIO()
    call_command("webhooks", "retry", "--failed", stdout=out)
    assert "1 failed messages pending again" in out.getvalue()
    row = WebhookMessage.objects.get()
    assert (row.webhook_id, row.failed_at, row.attempts) == (failed.webhook_id, None, 0)
    assert ids(delivery.claim(10)) == [row.id]
    # Another 24 h of retries before giving up again.
    assert delivery.outcome_of(answer(row, 500)) == "error"


# --- Reminders --------------------------------------------------------------------------------------------------
@pytest.fixture
def task(make_task) -> Task:
    return make_task(user_id="alice", due_at=timezone.now() + timedelta(minutes=15), reminders=[0, 15])


def test_a_reminder_carries_its_task_as_it_is_when_sent(task):
    reminder = reminder_of(task, 15)
    Task.objects.filter(id=task.id).update(title="Renamed since")
    [outgoing], cancelled = delivery.prepare(delivery.claim(10))
    assert cancelled == []
    body = orjson.loads(outgoing.body)
    assert body["type"] == REMINDER
    assert body["timestamp"] == reminder.created_at.isoformat().replace("+00:00", "Z")
    assert body["data"]["offset_minutes"] == 15
    assert body["data"]["task"]["title"] == "Renamed since"
    assert body["data"]["task"]["id"] == str(task.id)
    assert outgoing.webhook_id == str(reminder.webhook_id)


@pytest.mark.parametrize(
    "change",
    [
        {"completed": True},
        {"reminders": [0]},
        {"due_at": "later"},
    ],
    ids=["completed", "offset removed", "due date moved"],
)
def test_a_reminder_its_task_no_longer_asks_for_is_dropped_unsent(task, change):
    reminder_of(task, 15)
    if change == {"due_at": "later"}:
        change = {"due_at": task.due_at + timedelta(hours=1)}
    Task.objects.filter(id=task.id).update(**change)
    outgoing, cancelled = delivery.prepare(delivery.claim(10))
    assert outgoing == []
    delivery.drop(cancelled)
    assert not WebhookMessage.objects.exists()


def test_a_deleted_tasks_reminder_is_dropped_unsent(task):
    reminder_of(task, 15)
    task.delete()
    outgoing, cancelled = delivery.prepare(delivery.claim(10))
    assert (outgoing, len(cancelled)) == ([], 1)


def test_an_event_carries_its_data_as_written():
    row = message(type="task.created", data={"user_id": "alice", "task": {"id": "x", "title": "As written"}})
    [outgoing], _ = delivery.prepare(delivery.claim(10))
    assert orjson.loads(outgoing.body) == {
        "type": "task.created",
        "timestamp": row.created_at.isoformat().replace("+00:00", "Z"),
        "data": {"user_id": "alice", "task": {"id": "x", "title": "As written"}},
    }


# --- Housekeeping -----------------------------------------------------------------------------------------------
def test_the_purge_deletes_delivered_messages_after_the_retention():
    now = timezone.now()
    old = message(delivered_at=now - delivery.RETENTION - timedelta(seconds=1))
    kept = [
        message(delivered_at=now - delivery.RETENTION + timedelta(minutes=1)),
        message(failed_at=now - timedelta(days=30)),
        message(created_at=now - timedelta(days=30)),
    ]
    assert delivery.purge(now=now) == 1
    assert not WebhookMessage.objects.filter(id=old.id).exists()
    assert set(WebhookMessage.objects.values_list("id", flat=True)) == set(ids(kept))


def test_the_purge_goes_in_batches(monkeypatch):
    monkeypatch.setattr(delivery, "PURGE_BATCH", 2)
    long_ago = timezone.now() - timedelta(days=30)
    for _ in range(5):
        message(delivered_at=long_ago)
    assert delivery.purge() == 5


def test_pending_counts_each_type_and_state():
    now = timezone.now()
    message(type=REMINDER, created_at=now - timedelta(minutes=5))
    message(type=REMINDER, next_attempt_at=now + timedelta(hours=1))
    message(type=REMINDER, leased_until=now + timedelta(seconds=20))
    message(type="task.created", failed_at=now)
    message(type="task.created", delivered_at=now)
    out = io.StringIO()
    call_command("webhooks", "pending", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "task.created: 0 pending (0 due, 0 being sent, 0 later), oldest -; 1 failed"
    assert lines[1].startswith("task.reminder: 3 pending (1 due, 1 being sent, 1 later), oldest ")
    assert lines[1].endswith("; 0 failed")
    assert (now - timedelta(minutes=5)).isoformat() in lines[1]


def test_each_attempt_is_counted_and_a_delivery_timed():
    def sample(name: str, **labels) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    now = timezone.now()
    first, second = message(created_at=now - timedelta(seconds=3)), message()
    delivered = sample("webhook_deliveries_total", type="task.updated", outcome="delivered")
    errors = sample("webhook_deliveries_total", type="task.updated", outcome="error")
    lag_count, lag_sum = sample("webhook_delivery_lag_seconds_count"), sample("webhook_delivery_lag_seconds_sum")
    claimed = {row.id: row for row in delivery.claim(10, now=now)}
    delivery.record([answer(claimed[first.id], 200), answer(claimed[second.id], 502)], now=now)
    assert sample("webhook_deliveries_total", type="task.updated", outcome="delivered") == delivered + 1
    assert sample("webhook_deliveries_total", type="task.updated", outcome="error") == errors + 1
    assert sample("webhook_delivery_lag_seconds_count") == lag_count + 1
    assert 3 <= sample("webhook_delivery_lag_seconds_sum") - lag_sum < 10


def test_the_worker_counts_what_is_pending():
    message(type=REMINDER)
    message(type=REMINDER, delivered_at=timezone.now())
    worker = delivery.Worker("http://127.0.0.1:9/", "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    worker.housekeeping()
    assert REGISTRY.get_sample_value("outbox_pending", {"type": REMINDER}) == 1
    assert REGISTRY.get_sample_value("outbox_pending", {"type": "task.created"}) == 0
    worker.pool.shutdown()
