"""Helpers for tests over real HTTP: raw requests (repeated headers allowed, chunked bodies), gunicorn and the
Procfile's own command started on 127.0.0.1, and a table lock held by another database connection."""

import contextlib
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import connection, transaction

from tasks.models import Task
from tests.helpers import SECRET

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LiveResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    headers: list[tuple[str, str]] = (),
    body: bytes | None = None,
    chunks: list[bytes] | None = None,
    timeout: float = 10,
) -> LiveResponse:
    """One request over a fresh connection; `headers` is a list, so a header may be sent twice. The body is `body`
    with its Content-Length, or `chunks` sent with `Transfer-Encoding: chunked` (and no Content-Length)."""
    netloc = urlsplit(base_url).netloc
    connection = http.client.HTTPConnection(netloc, timeout=timeout)
    started = time.monotonic()
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        if chunks is not None:
            connection.putheader("Transfer-Encoding", "chunked")
        # The server may answer early (431, 413) and close; its answer is still there to read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if chunks is None:
                connection.endheaders(body)
            else:
                connection.endheaders(iter(chunks), encode_chunked=True)
        response = connection.getresponse()
        return LiveResponse(response.status, response.headers, response.read(), time.monotonic() - started)
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production process (DEBUG off), with nothing inherited from a developer's .env."""
    prefixes = ("DJANGO_", "DATABASE", "DIRECT_", "REDIS", "BETTER_AUTH_", "THROTTLE_", "CORS_")
    keep = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    # Set, even if empty, so that a developer's .env cannot fill them in (the OS environment wins over .env).
    unset = dict.fromkeys(
        ["BETTER_AUTH_URL", "BETTER_AUTH_ISSUER", "BETTER_AUTH_AUDIENCE", "CORS_ALLOWED_ORIGINS"]
        + ["LOG_FORMAT", "LOG_LEVEL", "METRICS_TOKEN", "SENTRY_DSN"],
        "",
    )
    return {
        **keep,
        **unset,
        "THROTTLE_USER_RATE": "100000/min",
        "DJANGO_SETTINGS_MODULE": "todo_project.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "live-tests-only-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": "",
        "DIRECT_DATABASE_URL": "",
        "REDIS_URL": "",
        **overrides,
    }


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"], env=env, cwd=ROOT, check=True, capture_output=True
    )


class Gunicorn:
    """gunicorn serving the project from its own directory (so gunicorn.conf.py applies), logs into a file."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log = log_path.open("wb")
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "todo_project.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--access-logfile",
            "-",
            *args,
        ]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 60  # a loaded CI machine can take long to start workers
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()}")
            try:
                if call(self.url, "GET", "/health", timeout=1).status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not answer within 60 s")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def call_together(
    base_url: str, method: str, path: str, *, headers: list[tuple[str, str]], count: int, body: bytes | None = None
) -> list[int]:
    """`count` identical requests on connections opened beforehand and released at once; their statuses."""
    netloc = urlsplit(base_url).netloc
    barrier = threading.Barrier(count)

    def one(_: int) -> int:
        connection = http.client.HTTPConnection(netloc, timeout=20)
        try:
            connection.connect()
            barrier.wait(timeout=20)
            connection.request(method, path, body=body, headers=dict(headers))
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@contextmanager
def held_by_another_connection(hold: Callable[[], object]) -> Iterator[None]:
    """`hold()` run in a transaction of another connection (another thread), left open until the block ends, then
    rolled back: what it locked or wrote stays locked, and invisible, meanwhile."""
    held, release = threading.Event(), threading.Event()

    def run() -> None:
        try:
            with transaction.atomic():
                hold()
                held.set()
                release.wait(10)
                transaction.set_rollback(True)
        finally:
            connection.close()

    holder = threading.Thread(target=run)
    holder.start()
    try:
        assert held.wait(10)
        yield
    finally:
        release.set()
        holder.join(10)


def table_locked_by_another_connection() -> contextlib.AbstractContextManager[None]:
    """Task's table locked ACCESS EXCLUSIVE by another connection (another thread) until the block ends."""

    def lock() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Task._meta.db_table} IN ACCESS EXCLUSIVE MODE")

    return held_by_another_connection(lock)


def procfile_web_command() -> str:
    """The Procfile's `web:` command, listening on 127.0.0.1 only (tests never listen on other interfaces)."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    return line[len("web:") :].strip().replace("0.0.0.0:", "127.0.0.1:")


@contextmanager
def procfile_server(database: str, jwks_url: str, log: Path, *extra_args: str, **env_overrides: str) -> Iterator[str]:
    """The Procfile's command run by a shell, as a platform does, with PORT set; stopped with its process group."""
    port = free_port()
    env = production_env(
        DATABASE_URL=database, BETTER_AUTH_JWKS_URL=jwks_url, BETTER_AUTH_SECRET=SECRET, PORT=str(port), **env_overrides
    )
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    command = f"exec {procfile_web_command()} {shlex.join(extra_args)}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [shutil.which("bash"), "-c", command],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the Procfile's command did not answer within 30 s"
            try:
                if call(url, "GET", "/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
