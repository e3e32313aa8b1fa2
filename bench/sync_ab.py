"""Quick side-by-side rows for conditional writes, Idempotency-Key and the changes feed, on the local PostgreSQL.

Two gunicorns (one sync worker each), one serving this checkout and one another commit (default: main), each on its
own database seeded with the same 2,000 tasks; rounds alternate between them and between the request kinds, and each
row is the median of the rounds' medians of sequential keep-alive requests. A shared machine is noisy: compare the
ratios of one run, not numbers across runs.

    .venv/bin/python bench/sync_ab.py [--base main] [--rounds 5] [--requests 200]
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import jwt

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432"
SECRET = "bench-only-shared-secret-of-32-bytes-or-more"  # noqa: S105 (signs tokens for 127.0.0.1 only)
TASKS = 2000
CREATE_BODY = b'{"title": "benchmarked"}'


def psql(sql: str) -> None:
    subprocess.run(["psql", "-q", f"{POSTGRES}/postgres", "-c", sql], check=True, capture_output=True)


def environment(database: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{POSTGRES}/{database}",
        "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "BETTER_AUTH_SECRET": SECRET,
        "THROTTLE_USER_RATE": "1000000/min",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def prepare(checkout: Path, database: str) -> None:
    """A fresh database migrated by `checkout`'s code, with TASKS tasks of the user `bench`."""
    psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    psql(f"CREATE DATABASE {database}")
    env = environment(database)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=checkout, env=env, check=True)
    seed = (
        "from tasks.models import Task;"
        f"Task.objects.bulk_create(Task(user_id='bench', title=f'Task {{n}}') for n in range({TASKS}))"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", seed], cwd=checkout, env=env, check=True)


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": str(uuid.uuid4())}


class Server:
    def __init__(self, checkout: Path, database: str, port: int) -> None:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        argv = [gunicorn, "todo_project.wsgi", "--workers", "1", "--bind", f"127.0.0.1:{port}"]
        self.process = subprocess.Popen(argv, cwd=checkout, env=environment(database), stdout=subprocess.DEVNULL)
        self.port = port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn in {checkout} did not start")

    def request(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read(), response
        finally:
            connection.close()

    def timed(self, count: int, make_request) -> float:
        """Median seconds of `count` sequential requests over one keep-alive connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        times = []
        try:
            for n in range(count):
                method, path, headers, body = make_request(n)
                started = time.perf_counter()
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                times.append(time.perf_counter() - started)
                assert response.status < 300, (path, response.status)
        finally:
            connection.close()
        return statistics.median(times)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    token = jwt.encode({"sub": "bench", "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")
    auth = {"Authorization": f"Bearer {token}"}
    json_auth = {**auth, "Content-Type": "application/json"}
    with tempfile.TemporaryDirectory() as base_dir:
        archive = subprocess.run(["git", "archive", args.base], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", base_dir], input=archive, check=True)
        prepare(ROOT, "todo_sync_bench_new")
        prepare(Path(base_dir), "todo_sync_bench_base")
        new, base = Server(ROOT, "todo_sync_bench_new", 8761), Server(Path(base_dir), "todo_sync_bench_base", 8762)
        try:
            first = json.loads(new.request("GET", "/api/tasks/changes?limit=100", auth)[1])
            one = json.loads(new.request("GET", "/api/tasks?page_size=1", auth)[1])["results"][0]["id"]
            one_base = json.loads(base.request("GET", "/api/tasks?page_size=1", auth)[1])["results"][0]["id"]
            since = first["cursor"]
            kinds = {
                "list page (50)": (new, base, lambda server, n: ("GET", "/api/tasks", auth, None)),
                "get one": (
                    new,
                    base,
                    lambda server, n: ("GET", f"/api/tasks/{one if server is new else one_base}", auth, None),
                ),
            }
            rows: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for name, (mine, theirs, make) in kinds.items():
                    rows.setdefault(f"{name}, this checkout", []).append(
                        mine.timed(args.requests, lambda n, s=mine, m=make: m(s, n))
                    )
                    rows.setdefault(f"{name}, {args.base}", []).append(
                        theirs.timed(args.requests, lambda n, s=theirs, m=make: m(s, n))
                    )
                rows.setdefault("create, no key", []).append(
                    new.timed(args.requests, lambda n: ("POST", "/api/tasks", json_auth, CREATE_BODY))
                )
                rows.setdefault("create, Idempotency-Key", []).append(
                    new.timed(
                        args.requests,
                        lambda n: (
                            "POST",
                            "/api/tasks",
                            {**json_auth, "Idempotency-Key": str(uuid.uuid4())},
                            CREATE_BODY,
                        ),
                    )
                )
                rows.setdefault("changes page (100 after a cursor)", []).append(
                    new.timed(
                        args.requests, lambda n: ("GET", f"/api/tasks/changes?since={since}&limit=100", auth, None)
                    )
                )
            for name, values in rows.items():
                rounds = ", ".join(f"{value * 1000:.2f}" for value in values)
                print(f"{name}: median {statistics.median(values) * 1000:.2f} ms (rounds {rounds})")
        finally:
            new.stop()
            base.stop()
            psql("DROP DATABASE IF EXISTS todo_sync_bench_new WITH (FORCE)")
            psql("DROP DATABASE IF EXISTS todo_sync_bench_base WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
