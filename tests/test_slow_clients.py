"""Slow clients: the Procfile's own command keeps answering while 50 connections dribble their requests or 40 read
account exports a few bytes at a time, and a worker whose database connections are all taken still answers."""

import contextlib
import math
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tasks.models import Task
from tests.live import call, call_together, procfile_server, table_locked_by_another_connection
from todo_project.pooled_postgresql import base as pooled_postgresql

DRIBBLERS = 50
NORMAL_REQUESTS = 20
DRIBBLE_EVERY = 0.5  # seconds between two bytes of a slow client
ANSWER_WITHIN = 1.0  # seconds: the p99 a normal request must keep while the slow clients dribble


class Dribblers:
    """Connections that send a request one byte every DRIBBLE_EVERY seconds: half their headers, half the body
    of a POST whose headers came at once. They never finish; a bounded thread feeds them until stop()."""

    def __init__(self, url: str, count: int) -> None:
        port = int(url.rsplit(":", 1)[1])
        head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"s" * 4000 + b"\r\n\r\n"
        body_head = (
            b"POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 4000\r\n\r\n"
        )
        self.pending: list[tuple[socket.socket, bytes]] = []
        for n in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if n % 2:
                sock.sendall(body_head)
                self.pending.append((sock, b"{" + b" " * 3998 + b"}"))
            else:
                self.pending.append((sock, head))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        sent = 0
        while not self._stop.wait(DRIBBLE_EVERY) and sent < 1000:
            for sock, data in self.pending:
                with contextlib.suppress(OSError):  # the server gave up on this one: fine
                    sock.send(data[sent : sent + 1])
            sent += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock, _ in self.pending:
            sock.close()


def normal_request_seconds(url: str, token: str) -> list[float]:
    """Seconds each normal request took, alternating /health and the task list; one not answered with a 200
    within 2 s counts as infinite, and the run stops after 3 of those (the bound on the test's time)."""
    seconds: list[float] = []
    for n in range(NORMAL_REQUESTS):
        path, headers = ("/health", []) if n % 2 else ("/api/tasks", [("Authorization", f"Bearer {token}")])
        try:
            response = call(url, "GET", path, headers=headers, timeout=2 * ANSWER_WITHIN)
            seconds.append(response.seconds if response.status == 200 else float("inf"))
        except OSError:
            seconds.append(float("inf"))
        if seconds.count(float("inf")) == 3:
            break
    return seconds


def p99(seconds: list[float]) -> float:
    """Nearest rank: with 20 requests, the slowest."""
    return sorted(seconds)[math.ceil(0.99 * len(seconds)) - 1]


def under_attack(url: str, token: str) -> list[float]:
    time.sleep(DRIBBLE_EVERY * 2)  # every slow client has started its request
    return normal_request_seconds(url, token)


@pytest.fixture
def attack(production_database, jwks_server, make_token, tmp_path):
    def run(*extra_args: str) -> list[float]:
        with procfile_server(production_database, jwks_server.url, tmp_path / "server.log", *extra_args) as url:
            dribblers = Dribblers(url, DRIBBLERS)
            try:
                return under_attack(url, make_token(sub="alice", alg="HS256"))
            finally:
                dribblers.stop()

    return run


def test_the_procfile_command_answers_normal_requests_while_50_clients_dribble(attack):
    seconds = attack()
    print(f"Procfile: p99 {p99(seconds):.3f} s, median {statistics.median(seconds):.3f} s")
    assert p99(seconds) < ANSWER_WITHIN, seconds


def test_threads_alone_are_starved_by_the_same_slow_clients(attack):
    """The control: the same command with the thread workers it used to have (4 per worker) stops answering."""
    seconds = attack("--worker-class", "gthread", "--threads", "4")
    print(f"gthread: p99 {p99(seconds):.3f} s, median {statistics.median(seconds):.3f} s")
    assert p99(seconds) > ANSWER_WITHIN


requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the server's own connections to a real PostgreSQL server"
)


def live_database_url() -> str:
    database = connection.settings_dict
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


@pytest.fixture
def postgresql_server(make_task, make_token, jwks_server, tmp_path, request):
    """The Procfile's command with one worker, on the test database (committed data: transaction=True tests), with
    the environment a test asks for by parametrizing this fixture (DATABASE_POOL_SIZE...; the settings' otherwise)."""
    make_task(user_id="alice")
    env = getattr(request, "param", {})
    with procfile_server(live_database_url(), jwks_server.url, tmp_path / "server.log", "--workers", "1", **env) as url:
        yield url, [("Authorization", f"Bearer {make_token(sub='alice', alg='HS256')}")]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


# The connections to the test database other than the one running the query.
OTHER_CONNECTIONS = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"


def server_connections(*, besides: int | None = None) -> int:
    """The connections to the test database other than this thread's own (and `besides`, another of the test's)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) {OTHER_CONNECTIONS} AND pid IS DISTINCT FROM %s", [besides])  # noqa: S608
        return cursor.fetchone()[0]


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_request_waiting_for_postgresql_does_not_block_the_other_requests_of_its_worker(postgresql_server):
    """psycopg2 yields to the worker's other greenlets while it waits (psycogreen); without that, one slow query
    would stop a whole gevent worker."""
    server, headers = postgresql_server
    with table_locked_by_another_connection():
        waiting = ThreadPoolExecutor(1).submit(call, server, "GET", "/api/tasks", headers=headers, timeout=20)
        time.sleep(0.5)  # the list's query now waits for the lock
        assert not waiting.done()
        assert call(server, "GET", "/health", timeout=2 * ANSWER_WITHIN).status == 200
    assert waiting.result(timeout=20).status == 200


@requires_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("postgresql_server", [{"DATABASE_POOL_SIZE": "3"}], indirect=True)
def test_the_requests_of_a_worker_share_its_pool_of_database_connections(postgresql_server):
    """Django's connections belong to a greenlet, so each client connection had one of its own (40 here); the
    worker's greenlets share DATABASE_POOL_SIZE connections instead, and requests past it wait for one."""
    server, headers = postgresql_server
    most, done, mine = 0, threading.Event(), backend_pid()

    def watch() -> None:
        nonlocal most
        try:
            while not done.wait(0.005):
                most = max(most, server_connections(besides=mine))
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        statuses = call_together(server, "GET", "/api/tasks", headers=headers, count=40)
    finally:
        done.set()
        watcher.join(10)
    assert statuses == [200] * 40
    assert 1 <= most <= 3, most
    for _ in range(10):  # and one after another, each on a new client connection: the same ones again
        assert call(server, "GET", "/api/tasks", headers=headers).status == 200
    assert 1 <= server_connections() <= 3


@requires_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("postgresql_server", [{"DATABASE_POOL_SIZE": "0"}], indirect=True)
def test_without_the_pool_the_database_connection_of_a_client_is_closed_when_the_client_leaves(postgresql_server):
    """DATABASE_POOL_SIZE=0: Django's connection per greenlet; one per client must not outlive it."""
    server, headers = postgresql_server
    for _ in range(20):
        assert call(server, "GET", "/api/tasks", headers=headers).status == 200  # a new client connection each
    time.sleep(0.5)
    assert server_connections() == 0


@requires_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("postgresql_server", [{"DATABASE_POOL_SIZE": "1"}], indirect=True)
def test_a_pooled_connection_the_server_dropped_is_replaced_before_it_is_used(postgresql_server):
    """As a Neon compute that suspended drops its connections: one idle past CHECK_IDLE_AFTER is checked first."""
    server, headers = postgresql_server
    assert call(server, "GET", "/api/tasks", headers=headers).status == 200
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(pg_terminate_backend(pid)) {OTHER_CONNECTIONS}")  # noqa: S608
        assert cursor.fetchone()[0] == 1  # the pool's one connection
    time.sleep(pooled_postgresql.CHECK_IDLE_AFTER + 0.2)
    assert call(server, "GET", "/api/tasks", headers=headers).status == 200


@requires_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "postgresql_server", [{"DATABASE_POOL_SIZE": "1", "DATABASE_POOL_TIMEOUT": "1"}], indirect=True
)
def test_a_request_that_waits_too_long_for_a_pooled_connection_is_a_503_with_retry_after(postgresql_server):
    """The pool's one connection is held by a request whose query waits for a lock; the next request waits
    DATABASE_POOL_TIMEOUT for it, then answers, instead of waiting for as long as the lock is held."""
    server, headers = postgresql_server
    with table_locked_by_another_connection():
        holding = ThreadPoolExecutor(1).submit(call, server, "GET", "/api/tasks", headers=headers, timeout=20)
        time.sleep(0.5)  # it has the connection; its query waits for the lock
        response = call(server, "GET", "/api/tasks", headers=headers, timeout=5)
    assert response.status == 503
    assert response.json() == {"detail": "Every database connection of this server is in use; try again shortly."}
    assert response.headers["Retry-After"] == "1"
    assert 1 <= response.seconds < 2
    assert holding.result(timeout=20).status == 200
    assert call(server, "GET", "/api/tasks", headers=headers).status == 200  # and the pool serves again


@requires_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("postgresql_server", [{"DATABASE_POOL_SIZE": "1"}], indirect=True)
def test_readiness_answers_within_2_s_while_the_pool_is_saturated(postgresql_server):
    """With the default DATABASE_POOL_TIMEOUT (5 s): the probe waits less for a connection than a request does."""
    server, headers = postgresql_server
    assert call(server, "GET", "/health/ready").status == 200
    with table_locked_by_another_connection():
        holding = ThreadPoolExecutor(1).submit(call, server, "GET", "/api/tasks", headers=headers, timeout=20)
        time.sleep(0.5)
        response = call(server, "GET", "/health/ready", timeout=2)
    assert response.status == 503
    assert "in use" in response.json()["detail"]
    assert response.headers["Retry-After"]
    assert holding.result(timeout=20).status == 200
    assert call(server, "GET", "/health/ready").status == 200


SLOW_EXPORTS = 40
EXPORTED_TASKS = 3000  # with 1,000-character descriptions: about 4 MB of JSON


class SlowDownloads:
    """Connections that each ask for the account export and then read its answer 16 bytes every 50 ms, through a
    small receive buffer (a phone on a bad network); a bounded thread reads them all until stop()."""

    def __init__(self, url: str, token: str, count: int) -> None:
        port = int(url.rsplit(":", 1)[1])
        request = (
            f"GET /api/account/export HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(5)
            sock.connect(("127.0.0.1", port))
            sock.sendall(request)
            sock.setblocking(False)
            self.sockets.append(sock)
        self.received = [b""] * count
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        turns = 0
        while not self._stop.wait(0.05) and turns < 2400:  # 2 minutes at most
            for n, sock in enumerate(self.sockets):
                with contextlib.suppress(BlockingIOError, OSError):
                    self.received[n] += sock.recv(16)
            turns += 1

    def statuses(self, *, within: float) -> list[int | None]:
        """The status of each answer, once all have one or after `within` seconds (None: no answer yet)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and not all(b"\r\n" in head for head in self.received):
            time.sleep(0.1)
        return [int(head.split(b" ")[1]) if b"\r\n" in head else None for head in self.received]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()


def idle_in_transaction() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) {OTHER_CONNECTIONS} AND state = 'idle in transaction'")  # noqa: S608
        return cursor.fetchone()[0]


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_slow_export_downloads_hold_no_connection_and_starve_nobody(make_token, jwks_server, tmp_path):
    """40 downloads of a 4 MB export read a few bytes at a time beside other users' list requests, with the
    Procfile's defaults (2 workers sharing 10 connections each). The export used to keep its connection and its
    transaction until the last byte was sent: the downloads took every connection, and the others waited."""
    description = "d" * 1000
    Task.objects.bulk_create(
        Task(user_id="exporter", title=f"Task {n}", description=description) for n in range(EXPORTED_TASKS)
    )
    others = [f"user{n}" for n in range(5)]
    Task.objects.bulk_create(Task(user_id=user, title="Mine") for user in others)
    with procfile_server(live_database_url(), jwks_server.url, tmp_path / "server.log") as server:
        downloads = SlowDownloads(server, make_token(sub="exporter", alg="HS256"), SLOW_EXPORTS)
        try:
            statuses = downloads.statuses(within=30)
            held, seconds = [idle_in_transaction()], []
            for n in range(NORMAL_REQUESTS):
                user = others[n % len(others)]
                headers = [("Authorization", f"Bearer {make_token(sub=user, alg='HS256')}")]
                try:
                    response = call(server, "GET", "/api/tasks", headers=headers, timeout=2 * ANSWER_WITHIN)
                    seconds.append(response.seconds if response.status == 200 else float("inf"))
                except OSError:
                    seconds.append(float("inf"))
                held.append(idle_in_transaction())
                if seconds.count(float("inf")) == 3:
                    break
            read = [len(received) for received in downloads.received]
        finally:
            downloads.stop()
    print(f"slow exports: p99 {p99(seconds):.3f} s, idle in transaction at most {max(held)}")
    assert max(held) == 0, held
    assert len(seconds) == NORMAL_REQUESTS, seconds
    assert p99(seconds) < ANSWER_WITHIN, seconds
    assert statuses == [200] * SLOW_EXPORTS, statuses
    assert max(read) < 1024 * 1024, "the downloads were still going on while the others were measured"
