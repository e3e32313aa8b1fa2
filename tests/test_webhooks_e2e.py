"""The Procfile's `worker:` command against a receiver on 127.0.0.1 that checks every delivery's signature with the
`standardwebhooks` library: once and signed, the same webhook-id on retries, a killed worker's message taken over,
two workers never sending one message twice, each task's events in order, reminders on time and only if still asked
for, graceful SIGTERM, and nothing at all without WEBHOOK_URL. Rows are inserted as tasks/outbox.py writes them, in
the database the worker uses: the test database on PostgreSQL, the API processes' SQLite file otherwise."""

import contextlib
import http.server
import json
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.db.utils import load_backend
from django.utils import timezone
from standardwebhooks import Webhook

from tasks.models import Task, WebhookMessage
from tests.live import ROOT, call, production_env

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes: a test key
REMINDER = "task.reminder"

pytestmark = pytest.mark.django_db(transaction=True)


# --- The receiver -----------------------------------------------------------------------------------------------
@dataclass
class Receipt:
    at: float  # time.time() when the request arrived
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered (0: not yet, or it stalled and hung up)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with what `answer(receipt)` returns: a status, or None to stall (up to 15 s, until
    `release` is set) and hang up. Every request's signature is checked; a bad one is a test failure."""

    url: str = ""
    answer: Callable[[Receipt], int | None] = lambda receipt: 204
    receipts: list[Receipt] = field(default_factory=list)
    bad_signatures: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def delivered(self) -> list[Receipt]:
        return [receipt for receipt in self.receipts if 200 <= receipt.status < 300]

    def wait_for(self, check: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.arrived.wait(min(left, 0.1))  # checks of the database are not notified: poll them
        return True


@contextlib.contextmanager
def running_receiver(answer: Callable[[Receipt], int | None] = lambda receipt: 204) -> Iterator[Receiver]:
    receiver = Receiver(answer=answer)
    verifier = Webhook(SECRET)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the worker's pool expects

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                verifier.verify(body, headers)
            except Exception as exc:  # noqa: BLE001 (any failure to verify is reported by the test)
                receiver.bad_signatures.append(f"{exc!r}: {headers}")
            receipt = Receipt(time.time(), headers, body, 0)
            with receiver.arrived:
                receiver.receipts.append(receipt)
                receiver.arrived.notify_all()
            status = receiver.answer(receipt)
            if status is None:
                receiver.release.wait(15)
                self.close_connection = True
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with receiver.arrived:
                receipt.status = status
                receiver.arrived.notify_all()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert receiver.bad_signatures == []


# --- The worker, as the Procfile runs it --------------------------------------------------------------------------
def procfile_worker_command() -> str:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("worker:"))
    return line[len("worker:") :].strip()


class Worker:
    """The Procfile's `worker:` command run by a shell, as a platform does, in its own process group."""

    def __init__(self, database: str, log: Path, **env: str) -> None:
        environment = production_env(DATABASE_URL=database, LOG_FORMAT="json", **env)
        environment["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{environment['PATH']}"
        self.log_path = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [shutil.which("bash"), "-c", f"exec {procfile_worker_command()}"],
                env=environment,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while "webhook worker:" not in self.logs():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.signal(signal.SIGKILL)
                self.process.wait()
                pytest.fail(f"the worker did not start within 30 s: {self.logs()}")
            time.sleep(0.1)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.logs().splitlines() if line.startswith("{")]

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def stop(self, timeout: float = 20) -> int:
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()
            raise


@pytest.fixture
def live_db(server_database: str) -> Iterator[str]:
    """The alias of the worker's database in this process: the test database itself on PostgreSQL, else an alias
    for the API processes' SQLite file (emptied of messages and tasks first: it outlives each test)."""
    if connection.vendor == "postgresql":
        yield "default"
        return
    alias = "live_sqlite"
    # A connection made here, not a configured alias: Django's test case refuses the configured ones it was not
    # told about, and lets dynamically created ones be.
    settings = {**connections.settings["default"], "NAME": server_database.removeprefix("sqlite:///")}
    connections[alias] = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias)
    try:
        WebhookMessage.objects.using(alias).all().delete()
        Task.objects.using(alias).all().delete()
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]


@pytest.fixture
def start_worker(server_database: str, tmp_path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(receiver: Receiver | None, **env: str) -> Worker:
        webhook = {"WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": SECRET} if receiver else {"WEBHOOK_URL": ""}
        worker = Worker(server_database, tmp_path / f"worker-{len(workers)}.log", **webhook, **env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.process.poll() is None:
            worker.signal(signal.SIGKILL)
            worker.process.wait()


def insert(alias: str, *, count: int = 1, task_id: uuid.UUID | None = None, **fields) -> list[WebhookMessage]:
    """`count` event messages, due now, as tasks/outbox.py writes them (in one transaction, ids in order)."""
    now = timezone.now()
    rows = []
    for number in range(count):
        task = task_id or uuid.uuid4()
        data = {"user_id": "alice", "task": {"id": str(task), "title": f"Event {number}"}}
        rows.append(
            WebhookMessage(
                user_id="alice", task_id=task, type="task.updated", data=data, created_at=now, next_attempt_at=now
            )
        )
        for name, value in fields.items():
            setattr(rows[-1], name, value)
    return WebhookMessage.objects.using(alias).bulk_create(rows)


def insert_reminder(alias: str, *, in_seconds: float, offset: int = 15, **task_fields) -> tuple[Task, WebhookMessage]:
    remind_at = timezone.now() + timedelta(seconds=in_seconds)
    task = Task.objects.using(alias).create(
        user_id="alice",
        title="Call the dentist",
        due_at=remind_at + timedelta(minutes=offset),
        reminders=[offset],
        **task_fields,
    )
    data = {"user_id": "alice", "remind_at": remind_at.isoformat(), "offset_minutes": offset}
    message = WebhookMessage.objects.using(alias).create(
        user_id="alice", task_id=task.id, type=REMINDER, data=data, created_at=remind_at, next_attempt_at=remind_at
    )
    return task, message


def row(alias: str, message: WebhookMessage) -> WebhookMessage:
    return WebhookMessage.objects.using(alias).get(id=message.id)


# --- Tests ------------------------------------------------------------------------------------------------------
def test_a_message_is_delivered_once_signed_as_standard_webhooks(live_db, start_worker):
    with running_receiver() as receiver:
        [message] = insert(live_db)
        worker = start_worker(receiver)
        assert receiver.wait_for(lambda: receiver.delivered(), 15)
        assert receiver.wait_for(lambda: row(live_db, message).delivered_at is not None, 10)
        time.sleep(1.5)  # a few more polls: nothing is sent again
        assert worker.stop() == 0
    [receipt] = receiver.receipts
    assert receipt.headers["webhook-id"] == str(message.webhook_id)
    assert receipt.headers["content-type"] == "application/json"
    assert abs(int(receipt.headers["webhook-timestamp"]) - receipt.at) < 5
    assert receipt.headers["webhook-signature"].startswith("v1,")
    assert receipt.json() == {
        "type": "task.updated",
        "timestamp": message.created_at.isoformat().replace("+00:00", "Z"),
        "data": message.data,
    }
    [line] = [line for line in worker.lines() if line.get("webhook_id") == str(message.webhook_id)]
    assert (line["type"], line["attempt"], line["status"], line["outcome"]) == ("task.updated", 1, 204, "delivered")
    assert line["duration_ms"] >= 0
    print("A delivery as received:", json.dumps(receipt.headers), receipt.body.decode())  # noqa: T201


def test_a_receiver_that_fails_twice_gets_the_same_id_three_times(live_db, start_worker):
    statuses = iter([500, 503])
    with running_receiver(lambda receipt: next(statuses, 200)) as receiver:
        [message] = insert(live_db)
        start_worker(receiver)
        assert receiver.wait_for(lambda: receiver.delivered(), 30)
        assert receiver.wait_for(lambda: row(live_db, message).delivered_at is not None, 10)
    assert [receipt.id for receipt in receiver.receipts] == [str(message.webhook_id)] * 3
    assert [receipt.status for receipt in receiver.receipts] == [500, 503, 200]
    first, second, third = (receipt.at for receipt in receiver.receipts)
    assert second - first < 5  # the first retry within 5 s
    assert third - second < 60
    assert row(live_db, message).attempts == 3


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next_within_60_seconds(live_db, start_worker):
    calls = iter([None])  # the first request stalls; the worker dies while it waits
    with running_receiver(lambda receipt: next(calls, 200)) as receiver:
        [message] = insert(live_db)
        first = start_worker(receiver)
        assert receiver.wait_for(lambda: receiver.receipts, 15)  # the POST arrived; its answer never will
        # Meanwhile the worker holds no transaction: the row is not locked, nor the database on SQLite.
        with transaction.atomic(using=live_db):
            assert list(WebhookMessage.objects.using(live_db).select_for_update(nowait=True).filter(id=message.id))
        first.signal(signal.SIGKILL)
        first.process.wait()
        killed_at = time.time()
        receiver.release.set()
        start_worker(receiver)
        assert receiver.wait_for(lambda: receiver.delivered(), 60)
    assert receiver.delivered()[0].at - killed_at < 60
    assert {receipt.id for receipt in receiver.receipts} == {str(message.webhook_id)}


def test_two_workers_deliver_each_message_once(live_db, start_worker):
    def slow(receipt: Receipt) -> int:
        time.sleep(0.01)
        return 200

    with running_receiver(slow) as receiver:
        messages = insert(live_db, count=200)
        start_worker(receiver)
        start_worker(receiver)
        assert receiver.wait_for(lambda: len(receiver.delivered()) >= 200, 60)
        time.sleep(1.5)
    ids = [receipt.id for receipt in receiver.receipts]
    assert len(ids) == len(set(ids)) == 200
    assert set(ids) == {str(message.webhook_id) for message in messages}
    assert not WebhookMessage.objects.using(live_db).filter(delivered_at=None).exists()


def test_each_tasks_events_arrive_in_order(live_db, start_worker):
    """Ten events for each of five tasks, a receiver refusing every third request: no event of a task arrives
    before the earlier ones were delivered."""
    count = iter(range(1000))
    with running_receiver(lambda receipt: 500 if next(count) % 3 == 2 else 200) as receiver:
        tasks = [uuid.uuid4() for _ in range(5)]
        for number in range(10):
            for task in tasks:
                insert(live_db, task_id=task, data={"user_id": "alice", "task": {"id": str(task), "n": number}})
        start_worker(receiver)
        assert receiver.wait_for(lambda: len(receiver.delivered()) >= 50, 60)
    for task in tasks:
        seen = [r for r in receiver.receipts if r.json()["data"]["task"]["id"] == str(task)]
        delivered = -1
        for receipt in seen:
            number = receipt.json()["data"]["task"]["n"]
            assert number == delivered + 1, [(r.json()["data"]["task"]["n"], r.status) for r in seen]
            if 200 <= receipt.status < 300:
                delivered = number
        assert delivered == 9


def test_reminders_arrive_once_on_time_and_only_while_their_task_asks(live_db, start_worker):
    with running_receiver() as receiver:
        start_worker(receiver)
        task, reminder = insert_reminder(live_db, in_seconds=3)
        completed, cancelled = insert_reminder(live_db, in_seconds=2)
        Task.objects.using(live_db).filter(id=completed.id).update(completed=True)
        assert receiver.wait_for(lambda: receiver.delivered(), 15)
        assert receiver.wait_for(lambda: row(live_db, reminder).delivered_at is not None, 10)
        time.sleep(2)
    [receipt] = receiver.receipts
    remind_at = reminder.created_at.timestamp()
    assert remind_at <= receipt.at < remind_at + 10
    body = receipt.json()
    assert body["type"] == REMINDER
    assert body["data"]["offset_minutes"] == 15
    assert body["data"]["task"]["id"] == str(task.id)
    assert body["data"]["task"]["title"] == "Call the dentist"
    assert not WebhookMessage.objects.using(live_db).filter(id=cancelled.id).exists()


def test_sigterm_lets_the_post_in_flight_finish(live_db, start_worker):
    def stall_then_ok(receipt: Receipt) -> int:
        time.sleep(2)
        return 200

    with running_receiver(stall_then_ok) as receiver:
        [message] = insert(live_db)
        worker = start_worker(receiver)
        deadline = time.monotonic() + 15
        while not row(live_db, message).leased_until and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.signal(signal.SIGTERM)
        assert worker.process.wait(timeout=15) == 0
    assert len(receiver.receipts) == 1
    assert row(live_db, message).delivered_at is not None
    assert "webhook worker: stopped" in worker.logs()


def test_without_webhook_url_the_worker_sends_nothing_and_idles(live_db, start_worker):
    [message] = insert(live_db)
    worker = start_worker(None)
    time.sleep(1.5)
    assert worker.process.poll() is None
    assert worker.stop() == 0
    assert "WEBHOOK_URL is unset" in worker.logs()
    assert row(live_db, message).attempts == 0


def test_the_worker_command_is_the_procfiles():
    assert shlex.split(procfile_worker_command()) == ["python", "manage.py", "webhooks", "run"]


# --- Through the API: the Procfile's web and worker, the outbox in between ------------------------------------------
def api(server, method: str, path: str, token: str, body: dict | None = None):
    headers = [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")]
    return call(server.url, method, path, headers=headers, body=None if body is None else json.dumps(body).encode())


def test_a_reminder_set_through_the_api_arrives_on_time_and_only_while_its_task_asks(
    live_db, start_server, start_worker, make_token
):
    token = make_token(sub="alice")
    with running_receiver() as receiver:
        server = start_server(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET)
        start_worker(receiver)
        due = timezone.now() + timedelta(seconds=4)
        fields = {"due_at": due.isoformat().replace("+00:00", "Z"), "reminders": [0]}
        reminded = api(server, "POST", "/api/tasks", token, {"title": "Remind me", **fields})
        completed = api(server, "POST", "/api/tasks", token, {"title": "Done before", **fields})
        deleted = api(server, "POST", "/api/tasks", token, {"title": "Gone before", **fields})
        assert [response.status for response in (reminded, completed, deleted)] == [201, 201, 201]
        assert api(server, "PATCH", f"/api/tasks/{completed.json()['id']}/complete", token).status == 200
        assert api(server, "DELETE", f"/api/tasks/{deleted.json()['id']}", token).status == 204
        assert receiver.wait_for(lambda: receiver.delivered(), 15)
        time.sleep(2)  # nothing else comes
    [receipt] = receiver.receipts
    assert due.timestamp() <= receipt.at < due.timestamp() + 10
    body = receipt.json()
    assert body["type"] == REMINDER
    assert body["data"]["task"]["id"] == reminded.json()["id"]
    assert body["data"]["task"]["title"] == "Remind me"
    assert body["data"]["remind_at"] == fields["due_at"]
    assert body["data"]["offset_minutes"] == 0
    assert body["data"]["user_id"] == "alice"
    assert body["data"]["task"]["due_at"] == fields["due_at"]  # as the API writes it
    print("A reminder as received:", json.dumps(receipt.headers), receipt.body.decode())  # noqa: T201


def test_task_events_through_the_api_arrive_in_order(live_db, start_server, start_worker, make_token):
    token = make_token(sub="alice")
    with running_receiver() as receiver:
        server = start_server(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET, WEBHOOK_EVENTS="*")
        created = api(server, "POST", "/api/tasks", token, {"title": "v1"})
        task_id = created.json()["id"]
        for title in ("v2", "v3"):
            assert api(server, "PATCH", f"/api/tasks/{task_id}", token, {"title": title}).status == 200
        assert api(server, "PATCH", f"/api/tasks/{task_id}/complete", token).status == 200
        assert api(server, "DELETE", f"/api/tasks/{task_id}", token).status == 204
        assert api(server, "PATCH", f"/api/tasks/{task_id}", token, {"title": "refused"}).status == 404
        start_worker(receiver, WEBHOOK_EVENTS="*")
        assert receiver.wait_for(lambda: len(receiver.delivered()) >= 5, 20)
        time.sleep(1.5)
    bodies = [receipt.json() for receipt in receiver.receipts]
    assert [body["type"] for body in bodies] == [
        "task.created", "task.updated", "task.updated", "task.completed", "task.deleted",
    ]  # fmt: skip
    assert [body["data"]["task"].get("title") for body in bodies] == ["v1", "v2", "v3", "v3", None]
    assert bodies[-1]["data"] == {"user_id": "alice", "task": {"id": task_id}}
    assert len({receipt.id for receipt in receiver.receipts}) == 5


def test_the_workers_metrics_reach_the_apis_when_they_share_the_metrics_directory(
    live_db, start_server, start_worker, tmp_path
):
    """One machine (as under `make run`): the worker writes its samples where gunicorn's workers write theirs."""
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "METRICS_TOKEN": "scrape-" + "m" * 20}
    (tmp_path / "metrics").mkdir()
    with running_receiver() as receiver:
        server = start_server(**shared)  # first: gunicorn empties the directory when it starts
        insert(live_db, count=2)
        worker = start_worker(receiver, **shared)
        assert receiver.wait_for(lambda: len(receiver.delivered()) == 2, 15)
        assert worker.stop() == 0  # recorded, and its samples written
    scraped = call(server.url, "GET", "/metrics", headers=[("Authorization", f"Bearer {shared['METRICS_TOKEN']}")])
    text = scraped.body.decode()
    assert 'webhook_deliveries_total{outcome="delivered",type="task.updated"} 2.0' in text
    assert "webhook_delivery_lag_seconds_count 2.0" in text
    assert 'outbox_pending{type="task.reminder"}' in text
