"""Fault drill: stop this machine's PostgreSQL under load and check that the API degrades and recovers cleanly.

Run as root, on a machine whose PostgreSQL (pg_ctlcluster, 127.0.0.1:5432) nobody else needs for half a minute:

    .venv/bin/python bench/faults.py [--outage SECONDS]

(FAULTS_DATABASE_URL and FAULTS_CLUSTER point it at another cluster, e.g. one made with pg_createcluster.)

It migrates FAULTS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/todo_faults), starts gunicorn with
production settings on a free port, keeps writers and a readiness probe busy, stops PostgreSQL for a few seconds,
starts it again, and checks: during the outage every answer is a fast 503 JSON body and /health/ready says 503;
afterwards the same gunicorn processes answer 201 again; every write answered 201 is in the database. PostgreSQL is
started again on every exit path. Not part of .ci/run, because it stops the machine's PostgreSQL.
"""

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import Gunicorn, call, production_env  # noqa: E402

DATABASE_URL = os.environ.get("FAULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/todo_faults")
CLUSTER = os.environ.get("FAULTS_CLUSTER", "main")  # the pg_ctlcluster cluster that serves DATABASE_URL
WRITERS = 6
REQUEST_TIMEOUT = 8  # seconds; an answer slower than this counts as a hang


@dataclass
class Sample:
    started: float
    kind: str  # "write" or "ready"
    status: int  # 0: no answer (connection error or timeout)
    seconds: float
    body: bytes
    task_id: str | None = None


def postgres(action: str) -> None:
    version = next(Path("/etc/postgresql").iterdir()).name
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, CLUSTER, action]
    subprocess.run([*command, "--mode", "fast"] if action == "stop" else command, check=True)  # noqa: S603


def postgres_is_up() -> bool:
    port = str(urlsplit(DATABASE_URL).port or 5432)
    command = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", port]
    return subprocess.run(command, check=False).returncode == 0  # noqa: S603, S607


def ensure_database() -> None:
    name = DATABASE_URL.rsplit("/", 1)[1]
    connection = psycopg2.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


class Load:
    """Writers creating tasks and one readiness probe, until stopped; every answer is kept."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.samples: list[Sample] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.write, args=(n,)) for n in range(WRITERS)]
        self.threads.append(threading.Thread(target=self.probe))

    def record(self, kind: str, method: str, path: str, body: bytes | None = None, headers=()) -> Sample:
        started = time.monotonic()
        try:
            response = call(self.url, method, path, headers=list(headers), body=body, timeout=REQUEST_TIMEOUT)
            sample = Sample(started, kind, response.status, response.seconds, response.body)
        except OSError as exc:
            sample = Sample(started, kind, 0, time.monotonic() - started, str(exc).encode())
        if sample.status == 201:
            sample.task_id = json.loads(sample.body)["id"]
        with self.lock:
            self.samples.append(sample)
        return sample

    def write(self, writer: int) -> None:
        headers = [("Authorization", f"Bearer {self.token}"), ("Content-Type", "application/json")]
        n = 0
        while not self.stopping.is_set():
            body = json.dumps({"title": f"fault drill {writer}-{n}"}).encode()
            self.record("write", "POST", "/api/tasks", body, headers)
            n += 1
            time.sleep(0.02)

    def probe(self) -> None:
        while not self.stopping.is_set():
            self.record("ready", "GET", "/health/ready")
            time.sleep(0.2)

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()


def summarize(samples: list[Sample], kind: str) -> str:
    chosen = [s for s in samples if s.kind == kind]
    statuses = {}
    for sample in chosen:
        statuses[sample.status] = statuses.get(sample.status, 0) + 1
    slowest = max((s.seconds for s in chosen), default=0)
    return f"{len(chosen)} {kind}s, statuses {dict(sorted(statuses.items()))}, slowest {slowest:.2f} s"


def drill(outage: float) -> list[str]:
    """Run the drill; return the failed expectations (empty when all held)."""
    env = production_env(
        DATABASE_URL=DATABASE_URL, BETTER_AUTH_SECRET=secrets.token_urlsafe(32), THROTTLE_USER_RATE="1000000/min"
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], env=env, cwd=ROOT, check=True)
    token = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "mint_token", f"faults-{secrets.token_hex(4)}", "--minutes", "10"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    log = ROOT / "bench" / "results" / "faults-gunicorn.log"
    log.parent.mkdir(exist_ok=True)
    server = Gunicorn(env, log, "--workers", "2", "--threads", "4")
    pids_before = server.process.pid
    failures: list[str] = []
    try:
        with Load(server.url, token) as load:
            time.sleep(3)
            down_at = time.monotonic()
            postgres("stop")
            stopped_at = time.monotonic()
            print(f"PostgreSQL stopped ({stopped_at - down_at:.1f} s to stop); outage of {outage:.0f} s")
            time.sleep(outage)
            starting_at = time.monotonic()
            postgres("start")
            up_at = time.monotonic()
            print(f"PostgreSQL down for {starting_at - stopped_at:.1f} s; up again {up_at - starting_at:.1f} s later")
            recovered_at = None
            deadline = time.monotonic() + 30
            while recovered_at is None and time.monotonic() < deadline:
                recent = [s for s in load.samples[-20:] if s.started > up_at and s.kind == "write"]
                if any(s.status == 201 for s in recent):
                    recovered_at = min(s.started for s in recent if s.status == 201)
                time.sleep(0.1)
            time.sleep(2)
        samples = load.samples
        if server.process.poll() is not None:
            failures.append("gunicorn died during the drill")
    finally:
        server.stop()

    before = [s for s in samples if s.started < down_at]
    during = [s for s in samples if stopped_at + 0.5 < s.started < starting_at]
    after = [s for s in samples if recovered_at and s.started >= recovered_at + 0.5]
    for name, part in [("before", before), ("outage", during), ("after", after)]:
        print(f"{name:>7}: {summarize(part, 'write')}; {summarize(part, 'ready')}")
    if recovered_at is None:
        failures.append("no 201 within 30 s of PostgreSQL coming back")
    else:
        print(f"first 201 {recovered_at - starting_at:.2f} s after the start command, same gunicorn ({pids_before})")
    if not before or any(s.status not in {201, 200} for s in before):
        failures.append("not every request before the outage succeeded")
    if not during:
        failures.append("no request was made during the outage")
    for sample in during:
        if sample.status != 503 or not json.loads(sample.body or b"{}").get("detail"):
            failures.append(f"during the outage: {sample.kind} answered {sample.status} {sample.body[:80]!r}")
            break
    if during and max(s.seconds for s in during) > 6:
        failures.append(f"slow answer during the outage: {max(s.seconds for s in during):.1f} s")
    if after and any(s.status not in {201, 200} for s in after):
        failures.append("not every request after recovery succeeded")

    created = [s.task_id for s in samples if s.task_id]
    connection = psycopg2.connect(DATABASE_URL)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tasks_task WHERE id = ANY(%s::uuid[])", [created])
        found = cursor.fetchone()[0]
    connection.close()
    print(f"writes answered 201: {len(created)}; found in the database afterwards: {found}")
    if found != len(created):
        failures.append(f"{len(created) - found} writes answered 201 are missing")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=8, help="seconds PostgreSQL stays down (at most 15)")
    outage = min(parser.parse_args().outage, 15)
    if os.geteuid() != 0:
        print("Run as root: the drill stops and starts PostgreSQL with pg_ctlcluster.", file=sys.stderr)
        return 2
    if not postgres_is_up():
        print("PostgreSQL is not running on 127.0.0.1:5432.", file=sys.stderr)
        return 2
    # SIGTERM and SIGHUP unwind through `finally` like Ctrl-C does, so PostgreSQL is always started again.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: sys.exit(1))
    ensure_database()
    try:
        failures = drill(outage)
    finally:
        if not postgres_is_up():
            postgres("start")
    for failure in failures:
        print(f"FAILED: {failure}")
    print("fault drill: " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
