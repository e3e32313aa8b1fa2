"""The webhook worker: delivers the outbox (WebhookMessage rows, written by tasks/outbox.py) to WEBHOOK_URL as
Standard Webhooks, at least once, with a stable webhook-id, growing delays and each task's events in order.

One loop per process (`manage.py webhooks run`, the Procfile's `worker:`). It claims due messages in a short
transaction (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's IMMEDIATE transactions serialise the claims)
that only sets a lease, commits, POSTs with no transaction open (a long one would hold back every client's changes
feed), then records each outcome in another short transaction. A lease that runs out (a worker killed mid-delivery)
makes the message claimable again by any worker. Nothing here keeps session state on the connection, so it works
through PgBouncer in transaction mode.
"""

import logging
import queue
import select
import socket
import ssl
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from rest_framework import serializers
from standardwebhooks import Webhook

from todo_project.json import ORJSONRenderer
from todo_project.metrics import WEBHOOK_DELIVERIES, WEBHOOK_DELIVERY_LAG, WEBHOOK_PENDING

from . import reminders
from .models import Task, WebhookMessage
from .outbox import REMINDER, pending
from .serializers import TaskSerializer

logger = logging.getLogger(__name__)

USER_AGENT = "todo-api-webhooks/1"
# The contract's timeout for one POST (urllib3 applies it to the connect and to each read).
TIMEOUT = 10.0
# A claimed message is this worker's for so long: enough for it to wait its turn (Worker.hold: two rounds of POSTs
# of at most TIMEOUT) and be recorded, and short enough that a killed worker's messages are taken over within the
# contract's 60 s (lease + one poll). One not sent in time is not sent (Worker.send) and left to the next claim.
LEASE = timedelta(seconds=30)
# Retry delays: 1, 2, 4 ... s after each failure, at most an hour apart.
MAX_DELAY = 3600
# Retrying stops once the delays already waited add up to this (so at least this long after created_at, and as
# long again after `webhooks retry --failed`, which resets `attempts`). A constant: the contract's "24 hours".
RETRY_FOR = timedelta(hours=24)
# POSTs in flight at once: 10,000 reminders due in the same minute leave within seconds (BENCHMARKS.md, "Webhooks").
CONCURRENCY = 32
# Polled this often while nothing is due: a reminder leaves within about this long after its time.
IDLE_POLL = 0.5
# Delivered messages are kept this long (for `webhooks pending` and a receiver's questions), then deleted in batches.
RETENTION = timedelta(days=7)
PURGE_EVERY = 600.0
PURGE_BATCH = 1000
# outbox_pending is counted this often (one query).
GAUGE_EVERY = 5.0


def claimable(now: datetime) -> QuerySet:
    """Pending messages whose time has come and that no live lease holds, minus the events waiting for an earlier
    pending event of their task (reminders don't wait)."""
    earlier_event = pending().filter(task_id=OuterRef("task_id"), id__lt=OuterRef("id")).exclude(type=REMINDER)
    return (
        pending()
        .filter(next_attempt_at__lte=now)
        .filter(Q(leased_until=None) | Q(leased_until__lte=now))
        .filter(Q(type=REMINDER) | ~Exists(earlier_event))
    )


def claim(limit: int, *, now: datetime | None = None) -> list[WebhookMessage]:
    """Lease up to `limit` due messages to this worker, oldest due first, in one short transaction; rows another
    worker is claiming at this moment are skipped, not waited for."""
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # With many rows pending, the planner's estimate of the per-task order check crosses jit_above_cost, and
            # compiling the query took 14 ms of a 16 ms claim (BENCHMARKS.md, "Webhooks"). Only this transaction's.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        rows = list(
            claimable(now).order_by("next_attempt_at", "id").select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        if rows:
            WebhookMessage.objects.filter(id__in=[row.id for row in rows]).update(leased_until=now + LEASE)
    for row in rows:
        row.leased_until = now + LEASE
    return rows


def still_due(message: WebhookMessage, task: Task | None) -> bool:
    """Whether a reminder still stands: its task exists, is open, and its due date and offsets still make this
    time. The write path deletes cancelled reminders; this catches a write that committed after the claim."""
    if task is None or task.user_id != message.user_id:
        return False
    scheduled = reminders.times(due_at=task.due_at, reminders=task.reminders, completed=task.completed)
    return (message.created_at, message.data.get("offset_minutes")) in scheduled


def delay_after(attempt: int) -> int:
    """Seconds before the next attempt after the `attempt`-th failed one: 1, 2, 4 ... MAX_DELAY."""
    return MAX_DELAY if attempt > 12 else min(2 ** (attempt - 1), MAX_DELAY)


def retried_for(attempts: int) -> timedelta:
    """The least time between a message's first attempt and its attempt number `attempts` + 1."""
    return timedelta(seconds=sum(delay_after(attempt) for attempt in range(1, attempts + 1)))


@dataclass
class Outgoing:
    """A claimed message, its body made: what a sending thread needs (no model, no database)."""

    id: int
    webhook_id: str
    type: str
    attempt: int  # this attempt's number: 1 for the first
    created_at: datetime
    leased_until: datetime  # this worker's lease: a failure is recorded only while the row still has it
    body: bytes
    # time.monotonic() after which it is not sent any more: a POST started then could outlast the lease.
    send_by: float = 0.0


@dataclass
class Attempt:
    outgoing: Outgoing
    status: int | None  # the HTTP status, None when no answer came
    error: str  # empty after a 2xx
    finished_at: datetime
    duration: float
    sent: bool = True  # False: not sent at all (the worker is stopping, or the lease ran out while it waited)

    @property
    def delivered(self) -> bool:
        return not self.error


TIMESTAMP = serializers.DateTimeField()


def body_of(message: WebhookMessage, task: Task | None = None) -> bytes:
    """The envelope, the event's time written as the API writes times; a reminder carries its task as it is now."""
    data = message.data if task is None else {**message.data, "task": TaskSerializer(task).data}
    envelope = {"type": message.type, "timestamp": TIMESTAMP.to_representation(message.created_at), "data": data}
    return ORJSONRenderer().render(envelope)  # as the API writes JSON: times end in Z


def prepare(rows: list[WebhookMessage]) -> tuple[list[Outgoing], list[WebhookMessage]]:
    """The claimed rows as bodies to send, and the reminders found cancelled (to drop, unsent). Reminders' tasks are
    read in one query, after the claim: as they are when sent."""
    task_ids = {row.task_id for row in rows if row.type == REMINDER}
    tasks = Task.objects.in_bulk(task_ids) if task_ids else {}
    outgoing, cancelled = [], []
    for row in rows:
        task = tasks.get(row.task_id)
        if row.type == REMINDER and not still_due(row, task):
            cancelled.append(row)
            continue
        body = body_of(row, task if row.type == REMINDER else None)
        send_by = time.monotonic() + (LEASE.total_seconds() - TIMEOUT - 5)
        outgoing.append(
            Outgoing(
                row.id, str(row.webhook_id), row.type, row.attempts + 1, row.created_at, row.leased_until, body, send_by
            )
        )
    return outgoing, cancelled


class Sender:
    """POSTs signed messages, each thread over its own keep-alive connection. The standard library's http.client:
    a third of urllib3's CPU per request (116 against 348 µs, BENCHMARKS.md, "Webhooks"), which is what one worker's
    throughput is made of; no retries nor redirects of its own (every attempt is the loop's, and a 3xx is a failure,
    as the Standard Webhooks spec says)."""

    # A receiver's answer is read this far: a longer body closes the connection instead of being read.
    MAX_ANSWER = 64 * 1024

    def __init__(self, url: str, secret: str) -> None:
        parts = urlsplit(url)
        self.connection_class = HTTPSConnection if parts.scheme == "https" else HTTPConnection
        self.options = {"context": ssl.create_default_context()} if parts.scheme == "https" else {}
        self.host, self.port = parts.hostname, parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.webhook = Webhook(secret)
        self.local = threading.local()

    def connection(self) -> HTTPConnection:
        """This thread's connection: a new one if the receiver closed it while idle (then it reads as ready)."""
        connection = getattr(self.local, "connection", None)
        if connection is not None and connection.sock is not None and closed_by_peer(connection.sock):
            connection.close()
        if connection is None:
            # TIMEOUT bounds the connect and each read, as with any socket timeout.
            connection = self.connection_class(self.host, self.port, timeout=TIMEOUT, **self.options)
            self.local.connection = connection
        return connection

    def send(self, outgoing: Outgoing) -> Attempt:
        started = time.monotonic()
        now = timezone.now()
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": outgoing.webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.webhook.sign(outgoing.webhook_id, now, outgoing.body),
        }
        connection = self.connection()
        try:
            connection.request("POST", self.path, body=outgoing.body, headers=headers)
            response = connection.getresponse()
            response.read(self.MAX_ANSWER)
        except (OSError, HTTPException) as exc:
            connection.close()
            status, error = None, f"{type(exc).__name__}: {exc}"
        else:
            if not response.isclosed():
                connection.close()  # an answer longer than MAX_ANSWER
            status = response.status
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        return Attempt(outgoing, status, error[:255], timezone.now(), time.monotonic() - started)


def closed_by_peer(sock: socket.socket) -> bool:
    """An idle keep-alive socket that reads as ready has been closed (or sent something unasked): not reusable."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def outcome_of(attempt: Attempt) -> str:
    """`delivered` (a 2xx), `error` (retried later), `failed` (retried for RETRY_FOR already: given up), or
    `unsent` (released for the next claim, no attempt made)."""
    if not attempt.sent:
        return "unsent"
    if attempt.delivered:
        return "delivered"
    return "failed" if retried_for(attempt.outgoing.attempt - 1) >= RETRY_FOR else "error"


def record(attempts: list[Attempt], *, now: datetime | None = None) -> None:
    """Store the outcomes in one short transaction: a 2xx ends the message; anything else schedules the next attempt
    (1, 2, 4 ... s later), or gives up once it has been retried for RETRY_FOR. Then count and log each attempt."""
    now = now or timezone.now()
    outcomes = [(attempt, outcome_of(attempt)) for attempt in attempts]
    delivered = [attempt.outgoing.id for attempt, outcome in outcomes if outcome == "delivered"]
    with transaction.atomic():
        if delivered:
            WebhookMessage.objects.filter(id__in=delivered).update(
                delivered_at=now, leased_until=None, attempts=F("attempts") + 1, last_error=""
            )
        unsent = [attempt.outgoing for attempt, outcome in outcomes if outcome == "unsent"]
        for outgoing in unsent:
            # Only a lease that is still ours: another worker may have claimed it since.
            mine = WebhookMessage.objects.filter(id=outgoing.id, leased_until=outgoing.leased_until)
            mine.update(leased_until=None)
        for attempt, outcome in outcomes:
            if outcome not in {"error", "failed"}:
                continue
            later = (
                {"failed_at": now}
                if outcome == "failed"
                else {"next_attempt_at": now + timedelta(seconds=delay_after(attempt.outgoing.attempt))}
            )
            mine = WebhookMessage.objects.filter(id=attempt.outgoing.id, leased_until=attempt.outgoing.leased_until)
            mine.update(attempts=attempt.outgoing.attempt, leased_until=None, last_error=attempt.error, **later)
    for attempt, outcome in outcomes:
        if outcome != "unsent":
            report(attempt, outcome)


def report(attempt: Attempt, outcome: str) -> None:
    """The attempt's metrics, and its log line (JSON with LOG_FORMAT=json): what an operator greps a webhook-id for."""
    outgoing = attempt.outgoing
    WEBHOOK_DELIVERIES.labels(type=outgoing.type, outcome=outcome).inc()
    if outcome == "delivered":
        WEBHOOK_DELIVERY_LAG.observe(max((attempt.finished_at - outgoing.created_at).total_seconds(), 0))
    fields = {
        "webhook_id": outgoing.webhook_id,
        "type": outgoing.type,
        "attempt": outgoing.attempt,
        "status": attempt.status,
        "outcome": outcome,
        "duration_ms": round(attempt.duration * 1000, 1),
    }
    level = logging.INFO if outcome == "delivered" else logging.WARNING
    message = "webhook %(webhook_id)s %(type)s attempt %(attempt)s: %(outcome)s"
    logger.log(
        level,
        message + ("" if outcome == "delivered" else " (%(error)s)"),
        {**fields, "error": attempt.error},
        extra=fields,
    )


def drop(cancelled: list[WebhookMessage]) -> None:
    """Delete reminders whose task no longer asks for them (completed, deleted, rescheduled): never sent."""
    if not cancelled:
        return
    WebhookMessage.objects.filter(id__in=[row.id for row in cancelled], delivered_at=None).delete()
    for row in cancelled:
        WEBHOOK_DELIVERIES.labels(type=row.type, outcome="cancelled").inc()
        logger.info(
            "webhook %s %s: cancelled, not sent",
            row.webhook_id,
            row.type,
            extra={"webhook_id": str(row.webhook_id), "type": row.type, "outcome": "cancelled"},
        )


def purge(*, now: datetime | None = None) -> int:
    """Delete messages delivered more than RETENTION ago, PURGE_BATCH at a time (short transactions). Oldest ids
    first: they are the delivered ones, so each batch reads little past what it deletes."""
    cutoff = (now or timezone.now()) - RETENTION
    removed = 0
    while ids := list(
        WebhookMessage.objects.filter(delivered_at__lt=cutoff).order_by("id").values_list("id", flat=True)[:PURGE_BATCH]
    ):
        removed += WebhookMessage.objects.filter(id__in=ids).delete()[0]
    return removed


def pending_by_type(*, now: datetime | None = None) -> dict[str, dict]:
    """Per type: pending messages (due now, scheduled later, leased to a worker), the oldest one's created_at, and
    the failed ones (retrying stopped)."""
    now = now or timezone.now()
    live_lease = Q(leased_until__gt=now)
    rows = (
        pending()
        .values("type")
        .annotate(
            pending=Count("id"),
            due=Count("id", filter=Q(next_attempt_at__lte=now) & ~live_lease),
            leased=Count("id", filter=live_lease),
            oldest=Min("created_at"),
        )
    )
    counts = {row.pop("type"): {**row, "failed": 0} for row in rows}
    failed = WebhookMessage.objects.filter(failed_at__isnull=False).values("type").annotate(n=Count("id"))
    for row in failed:
        counts.setdefault(row["type"], {"pending": 0, "due": 0, "leased": 0, "oldest": None})["failed"] = row["n"]
    return counts


def retry_failed() -> int:
    """Make the failed messages pending again, due now, attempts reset (another RETRY_FOR of retries), same id."""
    return WebhookMessage.objects.filter(failed_at__isnull=False, delivered_at=None).update(
        failed_at=None, attempts=0, next_attempt_at=timezone.now(), leased_until=None
    )


class Worker:
    """The loop: up to `concurrency` POSTs in flight on a thread pool, and at most `hold` messages claimed and not
    yet answered (the rest of them wait in the pool's queue), claimed in batches and recorded as answers come back."""

    def __init__(self, url: str, secret: str, *, concurrency: int = CONCURRENCY) -> None:
        self.concurrency = concurrency
        # Seconds the recent POSTs took (a moving average): how many messages to hold (see `hold`).
        self.duration = 1.0
        self.sender = Sender(url, secret)
        self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix="webhook")
        self.answers: queue.SimpleQueue[Attempt] = queue.SimpleQueue()
        self.answered: list[Attempt] = []
        self.sending = 0  # submitted, answer not yet taken from self.answers
        self.stopping = threading.Event()
        self.next_gauge = self.next_purge = 0.0

    def stop(self) -> None:
        """Claim nothing more; run() returns once the POSTs in flight are answered and recorded (those still
        waiting for a thread are released unsent, for any worker to claim at once)."""
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set() or self.sending or self.answered:
            try:
                self.step()
            except DatabaseError:
                # The database went away (a restart, Neon suspending its compute): the leases keep the claimed
                # messages meanwhile; try again shortly on a fresh connection.
                logger.exception("webhook worker: database error, trying again in 1 s")
                close_old_connections()
                time.sleep(1)
        self.pool.shutdown()

    def step(self) -> None:
        # A long-running process gets no request signals: this applies CONN_MAX_AGE and the health checks.
        close_old_connections()
        self.wait_for_answers(0, 0)
        if self.answered:
            record(self.answered)
            durations = [attempt.duration for attempt in self.answered if attempt.sent]
            if durations:
                self.duration = 0.7 * self.duration + 0.3 * statistics.fmean(durations)
            self.answered = []
        hold = self.hold()
        free = hold - self.sending
        backlog = False
        # Claim when half the hold is free (or nothing is in flight): one claim per answer would cost two
        # transactions per message.
        if not self.stopping.is_set() and (free >= hold // 2 or not self.sending):
            rows = claim(free)
            backlog = len(rows) == free
            outgoing, cancelled = prepare(rows)
            drop(cancelled)
            for message in outgoing:
                self.pool.submit(self.send, message)
            self.sending += len(outgoing)
        self.housekeeping()
        if backlog:
            self.wait_for_answers(hold // 2, IDLE_POLL)
        elif self.sending:
            self.wait_for_answers(1, IDLE_POLL)
        else:
            self.stopping.wait(IDLE_POLL)

    def hold(self) -> int:
        """How many messages may be claimed and not yet answered: while POSTs are quick, up to 8 per thread (a claim
        and a record per 4 x `concurrency` messages: one worker's throughput is mostly these transactions); as they
        slow down, fewer, down to 2 per thread, so that all are sent within the lease even at TIMEOUT each."""
        rounds = (LEASE.total_seconds() - TIMEOUT - 5) / max(self.duration, 0.001)
        return self.concurrency * int(min(max(rounds, 2), 8))

    def send(self, message: Outgoing) -> None:
        if self.stopping.is_set() or time.monotonic() > message.send_by:
            attempt = Attempt(message, None, "", timezone.now(), 0.0, sent=False)
        else:
            try:
                attempt = self.sender.send(message)
            except Exception as exc:  # noqa: BLE001 (a bug here must not lose the slot: the answer is an error)
                attempt = Attempt(message, None, f"{type(exc).__name__}: {exc}"[:255], timezone.now(), 0.0)
        self.answers.put(attempt)

    def wait_for_answers(self, count: int, timeout: float) -> None:
        """Take the answers that came back; block until `count` have (or `timeout` s passed, or none is awaited)."""
        deadline = time.monotonic() + timeout
        while self.sending:
            left = deadline - time.monotonic()
            try:
                answer = self.answers.get(timeout=left) if len(self.answered) < count and left > 0 else None
                answer = answer or self.answers.get_nowait()
            except queue.Empty:
                return
            self.answered.append(answer)
            self.sending -= 1

    def housekeeping(self) -> None:
        clock = time.monotonic()
        if clock >= self.next_gauge:
            self.next_gauge = clock + GAUGE_EVERY
            counts = pending_by_type()
            for kind in settings.WEBHOOK_EVENT_TYPES:
                WEBHOOK_PENDING.labels(type=kind).set(counts.get(kind, {}).get("pending", 0))
        if clock >= self.next_purge:
            self.next_purge = clock + PURGE_EVERY
            if removed := purge():
                logger.info("webhook worker: %s delivered messages older than %s purged", removed, RETENTION)
