"""The account routes on PostgreSQL: export time and the worker's peak memory at 10k and 100k tasks, and the erasure
of the 100k-task user while another user keeps reading and writing.

    .venv/bin/python bench/account.py [--rounds 3]        (the project's interpreter; about 5 minutes)

Data: its own database (todo_account_bench, dropped and made again), users of 10,000 and 100,000 tasks loaded with
COPY (bench/dataset.py). Servers: the project under gunicorn with production settings, one sync worker, started
fresh for every export, so that the worker's peak resident memory (VmHWM) belongs to that export alone.
Prints JSON; BENCHMARKS.md ("Accounts") has the numbers of a run.
"""

import argparse
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import dataset
import jwt
import psycopg2
import servers

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "bench" / "results" / "account-gunicorn.log"
DB = "todo_account_bench"
ADMIN_DSN = "dbname=postgres user=postgres host=127.0.0.1 port=5432"
DSN = f"dbname={DB} user=postgres host=127.0.0.1 port=5432"
SECRET = secrets.token_urlsafe(32)
SIZES = {"small": 10_000, "big": 100_000}


def token(user_id: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + 900}, SECRET, algorithm="HS256")


def load() -> dict[str, str]:
    """Users of 10k and 100k tasks, and a bystander of 10k whose requests run during the erasure."""
    dataset.recreate_database(ADMIN_DSN, DB)
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}", "DJANGO_DEBUG": "true"}
    manage = [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "migrate", "--no-input", "-v", "0"]
    subprocess.run(manage, cwd=ROOT, env=env, check=True)
    rng = random.Random(15)
    users = {"small": dataset.better_auth_id(rng), "big": dataset.better_auth_id(rng)}
    users["bystander"] = dataset.better_auth_id(rng)
    counts = {"small": SIZES["small"], "big": SIZES["big"], "bystander": 10_000}

    def lines():
        for name, user_id in users.items():
            yield from dataset.task_lines(rng, user_id, counts[name], [])

    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            dataset.copy_tasks(cur, lines(), sum(counts.values()))
        dataset.settle(conn)
    finally:
        conn.close()
    return users


def add_user(count: int, rng: random.Random) -> str:
    """A new user with `count` tasks, COPY-loaded and analysed; returns the id."""
    user_id = dataset.better_auth_id(rng)
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            dataset.copy_tasks(cur, dataset.task_lines(rng, user_id, count, []), count)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ANALYZE tasks_task")
    finally:
        conn.close()
    return user_id


def project(workers: int) -> servers.Server:
    env = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "BETTER_AUTH_SECRET": SECRET,
        "THROTTLE_USER_RATE": "1000000/s",
    }
    argv = [str(ROOT / ".venv" / "bin" / "gunicorn"), "todo_project.wsgi", "--workers", str(workers)]
    return servers.Server("project", argv, env=env, cwd=str(ROOT), log_path=str(LOG))


def worker_pid(server: servers.Server) -> int:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def memory_kb(pid: int) -> dict[str, int]:
    """The process's resident memory now (VmRSS) and at its peak so far (VmHWM), in kB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


def request(url: str, method: str, path: str, user_id: str, body: bytes | None = None) -> tuple[int, int, float]:
    """(status, bytes of body, seconds to the last byte); the body is read in 64 KB pieces and not kept."""
    host = url.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=120)
    headers = {"Authorization": f"Bearer {token(user_id)}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        size = 0
        while piece := response.read(65536):
            size += len(piece)
        return response.status, size, time.perf_counter() - started
    finally:
        connection.close()


def export_once(user_id: str) -> dict:
    server = project(workers=1)
    server.start(ready_path="/health", headers={})
    try:
        # A list request first, so the worker has imported and connected everything before the baseline.
        assert request(server.url, "GET", "/api/tasks", user_id)[0] == 200
        pid = worker_pid(server)
        before = memory_kb(pid)
        status, size, seconds = request(server.url, "GET", "/api/account/export", user_id)
        after = memory_kb(pid)
        assert status == 200, status
        return {"seconds": seconds, "bytes": size, "rss_before_kb": before["VmRSS"], "peak_kb": after["VmHWM"]}
    finally:
        server.stop()


def erase_while_another_user_works(users: dict[str, str]) -> dict:
    """DELETE users["big"] while the bystander lists and creates tasks; their latencies before and during."""
    server = project(workers=2)
    server.start(ready_path="/health", headers={})
    samples: list[tuple[float, str, float, int]] = []  # (started, kind, seconds, status)
    stop = threading.Event()

    def bystander() -> None:
        kinds = ["list", "create"]
        n = 0
        while not stop.is_set():
            kind = kinds[n % 2]
            n += 1
            started = time.perf_counter()
            if kind == "list":
                status, _, seconds = request(server.url, "GET", "/api/tasks", users["bystander"])
            else:
                body = json.dumps({"title": f"During the erasure {n}"}).encode()
                status, _, seconds = request(server.url, "POST", "/api/tasks", users["bystander"], body)
            samples.append((started, kind, seconds, status))

    try:
        request(server.url, "GET", "/api/tasks", users["big"])
        thread = threading.Thread(target=bystander)
        thread.start()
        time.sleep(3)
        erase_started = time.perf_counter()
        status, _, erase_seconds = request(server.url, "DELETE", "/api/account", users["big"])
        erase_ended = time.perf_counter()
        time.sleep(1)
        stop.set()
        thread.join(timeout=30)
    finally:
        server.stop()
    assert status == 204, status

    def summary(selected: list[tuple[float, str, float, int]]) -> dict:
        by_kind = {}
        for kind in ("list", "create"):
            times = sorted(s[2] * 1000 for s in selected if s[1] == kind)
            if times:
                by_kind[kind] = {"n": len(times), "median_ms": statistics.median(times), "max_ms": times[-1]}
        return by_kind

    during = [s for s in samples if erase_started <= s[0] < erase_ended]
    before = [s for s in samples if s[0] < erase_started]
    return {
        "erase_seconds": erase_seconds,
        "bystander_errors": sum(1 for s in samples if s[3] >= 400),
        "before": summary(before),
        "during": summary(during),
    }


def remaining(user_id: str) -> int:
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM tasks_task WHERE user_id = %s", [user_id])
            return cur.fetchone()[0]
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    LOG.parent.mkdir(exist_ok=True)
    users = load()
    runs = {name: [] for name in SIZES}
    try:
        for _ in range(args.rounds):  # alternating, so that noise from the shared machine hits both sizes alike
            for name in SIZES:
                runs[name].append(export_once(users[name]))
        erasures = []
        rng = random.Random(150)
        for number in range(args.rounds):
            big = users["big"] if number == 0 else add_user(SIZES["big"], rng)
            erasures.append({**erase_while_another_user_works({**users, "big": big}), "left": remaining(big)})
    finally:
        servers.stop_all()
    result = {
        "export": {
            name: {
                "tasks": SIZES[name],
                "median_seconds": statistics.median(r["seconds"] for r in rounds),
                "mb": rounds[0]["bytes"] / 1e6,
                "median_rss_before_mb": statistics.median(r["rss_before_kb"] for r in rounds) / 1024,
                "median_peak_mb": statistics.median(r["peak_kb"] for r in rounds) / 1024,
                "rounds": rounds,
            }
            for name, rounds in runs.items()
        },
        "erasure": {
            "tasks": SIZES["big"],
            "median_seconds": statistics.median(e["erase_seconds"] for e in erasures),
            "rounds": erasures,
        },
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
