"""Slow clients: the Procfile's own command keeps answering while 50 connections dribble their requests."""

import contextlib
import math
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

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


@pytest.fixture
def postgresql_server(make_task, make_token, jwks_server, tmp_path, request):
    """The Procfile's command with one worker, on the test database (committed data: transaction=True tests), with
    the pool size a test asks for by parametrizing this fixture (the settings' default otherwise)."""
    make_task(user_id="alice")
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    pool_size = getattr(request, "param", None)
    env = {} if pool_size is None else {"DATABASE_POOL_SIZE": str(pool_size)}
    with procfile_server(url, jwks_server.url, tmp_path / "server.log", "--workers", "1", **env) as server:
        yield server, [("Authorization", f"Bearer {make_token(sub='alice', alg='HS256')}")]


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
@pytest.mark.parametrize("postgresql_server", [3], indirect=True)
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
@pytest.mark.parametrize("postgresql_server", [0], indirect=True)
def test_without_the_pool_the_database_connection_of_a_client_is_closed_when_the_client_leaves(postgresql_server):
    """DATABASE_POOL_SIZE=0: Django's connection per greenlet; one per client must not outlive it."""
    server, headers = postgresql_server
    for _ in range(20):
        assert call(server, "GET", "/api/tasks", headers=headers).status == 200  # a new client connection each
    time.sleep(0.5)
    assert server_connections() == 0


@requires_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("postgresql_server", [1], indirect=True)
def test_a_pooled_connection_the_server_dropped_is_replaced_before_it_is_used(postgresql_server):
    """As a Neon compute that suspended drops its connections: one idle past CHECK_IDLE_AFTER is checked first."""
    server, headers = postgresql_server
    assert call(server, "GET", "/api/tasks", headers=headers).status == 200
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(pg_terminate_backend(pid)) {OTHER_CONNECTIONS}")  # noqa: S608
        assert cursor.fetchone()[0] == 1  # the pool's one connection
    time.sleep(pooled_postgresql.CHECK_IDLE_AFTER + 0.2)
    assert call(server, "GET", "/api/tasks", headers=headers).status == 200
