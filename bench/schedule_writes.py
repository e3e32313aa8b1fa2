"""Issue #22's write-cost rows: a write with two reminders against a plain one (at most 1.3x), completing a recurring
task against completing a plain one (at most 2x), measured side by side in one run.

Two servers run the Procfile's `web:` command (gevent workers, as production) on one PostgreSQL database of their
own, recreated on every run: "on" with WEBHOOK_URL and a whsec_ key made for the run (WEBHOOK_EVENTS left at its
default, task.reminder), so reminders are written to the outbox (no worker runs: nothing is sent), and "off" without
WEBHOOK_URL. The request kinds alternate in rounds, their order rotated from round to round, and within a round take
turns every CHUNK requests; each kind's requests go over CLIENTS keep-alive connections (1: sequential), and a round
gives each kind a median, a p99, a throughput (requests over the time spent sending them) and the server's CPU time
per request (bench/cpu.py):

    A   POST /api/tasks, due_at in a week, no reminders                     (on)
    B   the same with "reminders": [15, 60]: two outbox rows                 (on)
    C   PATCH /api/tasks/{id}/complete {"completed": true}, a plain task     (on)
    D   the same, the task "recurrence": "FREQ=DAILY": its next occurrence   (on)
    D2  the same, recurring with reminders [15, 60]: the next one's reminders (on)
    A0  A without WEBHOOK_URL                                                (off)
    B0  B without WEBHOOK_URL: the reminders stored on the task, no outbox   (off)

The tasks C, D and D2 complete are created at the start of each round, outside the timed part. The ratios B/A and
D/C are taken round by round (the rounds' medians), then their median. Then the SQL statements of each kind, counted
in-process with Django's CaptureQueriesContext (the test client, same database and settings).

    .venv/bin/python bench/schedule_writes.py [--rounds 5] [--requests 300] [--chunk 50] [--clients 1] [--workers 2]

Needs the local PostgreSQL (127.0.0.1:5432, user postgres, trust); runs with the project's interpreter. Prints a
Markdown table and writes results.json to bench/results/schedule-writes-<time>/.
"""

import argparse
import base64
import http.client
import json
import os
import secrets
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DB = "todo_schedule_writes"  # the run's own, dropped and recreated every time
USERS = 4  # the requests go round-robin over this many users
REMINDERS = [15, 60]
KINDS = {
    "A": ("on", "POST, due_at, no reminders"),
    "B": ("on", "POST, due_at, reminders [15, 60]"),
    "C": ("on", "complete a plain task (due_at)"),
    "D": ("on", "complete a FREQ=DAILY task"),
    "D2": ("on", "complete a FREQ=DAILY task with reminders [15, 60]"),
    "A0": ("off", "A without WEBHOOK_URL"),
    "B0": ("off", "B without WEBHOOK_URL"),
}
# What each completed kind completes: the fields of the task created for it beforehand.
PREPARED = {
    "C": {},
    "D": {"recurrence": "FREQ=DAILY"},
    "D2": {"recurrence": "FREQ=DAILY", "reminders": REMINDERS},
}


def task_body(n: int, **fields) -> bytes:
    due_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7, minutes=n % 1000)
    return json.dumps({"title": f"Bench write {n}", "due_at": due_at.isoformat().replace("+00:00", "Z"), **fields})


class Connection:
    """One keep-alive client connection; `send` returns (status, body)."""

    def __init__(self, port: int) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, method: str, path: str, token: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.http.request(method, path, body=body, headers=headers)
        response = self.http.getresponse()
        return response.status, response.read()


def batch(port: int, requests: list[tuple[str, str, str, bytes]], *, clients: int) -> dict:
    """`requests` (method, path, token, body) over `clients` keep-alive connections: latencies, wall time, errors."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def client(share: list[tuple[str, str, str, bytes]]) -> None:
        connection, mine, failed = Connection(port), [], []
        for method, path, token, body in share:
            started = time.perf_counter()
            status, _ = connection.send(method, path, token, body)
            mine.append(time.perf_counter() - started)
            if status >= 300:
                failed.append(status)
        connection.http.close()
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    threads = [threading.Thread(target=client, args=(requests[i::clients],)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "seconds": time.perf_counter() - started, "errors": errors}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def whsec() -> str:
    """A Standard Webhooks signing key, as its libraries make one: whsec_ and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def prepare(port: int, tokens: list[str], count: int, fields: dict) -> list[tuple[str, str]]:
    """`count` tasks with `fields` (and a due date), made through the API: (token, task id) of each."""
    connection, made = Connection(port), []
    for n in range(count):
        token = tokens[n % len(tokens)]
        status, body = connection.send("POST", "/api/tasks", token, task_body(n, **fields))
        if status != 201:
            raise RuntimeError(f"creating a task for the bench answered {status}: {body[:300]!r}")
        made.append((token, json.loads(body)["id"]))
    connection.http.close()
    return made


def round_requests(kind: str, port: int, tokens: list[str], count: int) -> list[tuple[str, str, str, bytes]]:
    """The requests of one kind for one round (the tasks to complete created now, untimed)."""
    if kind in ("A", "A0", "B", "B0"):
        fields = {"reminders": REMINDERS} if kind.startswith("B") else {}
        return [("POST", "/api/tasks", tokens[n % len(tokens)], task_body(n, **fields)) for n in range(count)]
    complete = json.dumps({"completed": True}).encode()
    made = prepare(port, tokens, count, PREPARED[kind])
    return [("PATCH", f"/api/tasks/{task_id}/complete", token, complete) for token, task_id in made]


def run_bench(args) -> dict:
    import cpu
    import dataset
    import run
    import servers

    out_dir = BENCH / "results" / f"schedule-writes-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    out_dir.mkdir(parents=True)
    print(f"Database {DB}: recreate, migrate", flush=True)
    dataset.recreate_database(run.ADMIN_DSN, DB)
    run.migrate(db=DB)

    keys = run.Keys()
    jwks_server, auth_url = servers.serve_jwks(keys.jwks())
    users = [f"bench-writes-{n}" for n in range(USERS)]
    tokens = [keys.token(user, alg="HS256", issuer=auth_url) for user in users]
    # The servers inherit this process's environment: WEBHOOK_EVENTS at its default (task.reminder), and the "off"
    # server without WEBHOOK_URL, whatever the caller's environment says.
    for name in ("WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_EVENTS"):
        os.environ.pop(name, None)
    base_env = {**run.project_env(keys, auth_url, db=DB)}
    on_env = {**base_env, "WEBHOOK_URL": "http://127.0.0.1:9/never-delivered", "WEBHOOK_SECRET": whsec()}
    argv = run.procfile_web_command("--workers", str(args.workers))
    fleet = {
        "on": servers.Server("on", argv, env=on_env, cwd=str(run.ROOT), log_path=str(out_dir / "on.log")),
        "off": servers.Server("off", argv, env=base_env, cwd=str(run.ROOT), log_path=str(out_dir / "off.log")),
    }
    runs: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    load = {"before": os.getloadavg()}
    try:
        for server in fleet.values():
            server.start(ready_path="/api/tasks", headers={"Authorization": f"Bearer {tokens[0]}"})
        print(f"Warm-up; then {args.rounds} rounds x {args.requests} requests per kind, {args.clients} client(s)")
        for kind, (where, _) in KINDS.items():
            batch(fleet[where].port, round_requests(kind, fleet[where].port, tokens, 50), clients=args.clients)
        names = list(KINDS)
        for round_no in range(args.rounds):
            shift = round_no % len(names)
            order = names[shift:] + names[:shift]
            prepared = {kind: round_requests(kind, fleet[KINDS[kind][0]].port, tokens, args.requests) for kind in order}
            # The kinds take turns every CHUNK requests: a burst of the machine's other load falls on all of them.
            latencies: dict[str, list[float]] = {kind: [] for kind in order}
            seconds = dict.fromkeys(order, 0.0)
            cpu_us = dict.fromkeys(order, 0.0)
            for start in range(0, args.requests, args.chunk):
                for kind in order:
                    server = fleet[KINDS[kind][0]]
                    before = cpu.snapshot(server.process.pid)
                    result = batch(server.port, prepared[kind][start : start + args.chunk], clients=args.clients)
                    cpu_us[kind] += cpu.snapshot(server.process.pid)["server"] - before["server"]
                    if result["errors"]:
                        raise RuntimeError(f"{kind}: {len(result['errors'])} errors, e.g. {result['errors'][:5]}")
                    latencies[kind] += result["latencies"]
                    seconds[kind] += result["seconds"]
            for kind in order:
                row = {
                    "median_ms": statistics.median(latencies[kind]) * 1000,
                    "p99_ms": percentile(latencies[kind], 0.99) * 1000,
                    "rps": len(latencies[kind]) / seconds[kind],
                    "server_cpu_us": cpu_us[kind] / len(latencies[kind]),
                    "latencies_ms": [x * 1000 for x in latencies[kind]],
                }
                runs[kind].append(row)
                print(
                    f"  round {round_no + 1} {kind:<3} median {row['median_ms']:6.2f} ms  p99 {row['p99_ms']:6.2f} ms"
                    f"  {row['rps']:6.0f} req/s  server CPU {row['server_cpu_us']:5.0f} µs/request",
                    flush=True,
                )
        outbox = outbox_rows(run.ADMIN_DSN.replace("dbname=postgres", f"dbname={DB}"))
    finally:
        servers.stop_all()
        jwks_server.shutdown()
    load["after"] = os.getloadavg()
    print("SQL statements per request (in-process, CaptureQueriesContext)", flush=True)
    statements = run.project_python("schedule_writes.py", "--statements", tokens[0], env=on_env)
    results = {
        "config": vars(args) | {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")},
        "load": load,
        "outbox_rows": outbox,
        "runs": runs,
        "statements": statements,
    }
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    print(f"raw results in {out_dir.relative_to(run.ROOT)}")
    return results


def outbox_rows(dsn: str) -> dict[str, int]:
    """The messages the run left in the outbox, by type: the reminders were really written."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT type, count(*) FROM tasks_webhookmessage GROUP BY type")
            return dict(cur.fetchall())
    finally:
        conn.close()


def ratios(runs: dict[str, list[dict]], mine: str, theirs: str, key: str = "median_ms") -> list[float]:
    return [a[key] / b[key] for a, b in zip(runs[mine], runs[theirs], strict=True)]


def render(results: dict) -> str:
    runs, statements = results["runs"], results["statements"]
    config = results["config"]
    lines = [
        f"{config['rounds']} rounds x {config['requests']} requests per kind (turns of {config['chunk']}), "
        f"{config['clients']} keep-alive client(s), {config['workers']} gevent workers; {config['date']}; "
        "load average (1, 5, 15 min) "
        f"before {', '.join(f'{x:.2f}' for x in results['load']['before'])}, "
        f"after {', '.join(f'{x:.2f}' for x in results['load']['after'])}",
        "",
        "| kind | request | median ms | p99 ms | req/s | server CPU µs/request | SQL statements | in a transaction |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for kind, (_, label) in KINDS.items():
        rows = runs[kind]
        pooled = [x for row in rows for x in row["latencies_ms"]]
        counted = statements.get(kind, {})
        lines.append(
            f"| {kind} | {label} | {statistics.median(pooled):.2f} | {percentile(pooled, 0.99):.2f}"
            f" | {statistics.median(r['rps'] for r in rows):.0f}"
            f" | {statistics.median(r['server_cpu_us'] for r in rows):.0f}"
            f" | {counted.get('statements', '?')} | {'yes' if counted.get('atomic') else 'no'} |"
        )
    lines += ["", "| ratio (of the rounds' medians) | target | median | rounds |", "|---|---:|---:|---|"]
    for label, mine, theirs, target in [
        ("B/A: two reminders vs a plain write", "B", "A", "≤ 1.3"),
        ("D/C: completing a recurring task vs a plain one", "D", "C", "≤ 2"),
        ("D2/C: recurring with two reminders vs plain", "D2", "C", ""),
        ("A/A0: the outbox on vs off, no reminders", "A", "A0", ""),
        ("B0/A0: reminders without WEBHOOK_URL", "B0", "A0", ""),
    ]:
        values = ratios(runs, mine, theirs)
        rounds = ", ".join(f"{v:.2f}" for v in values)
        lines.append(f"| {label} | {target} | {statistics.median(values):.2f} | {rounds} |")
    cpu_b = statistics.median(ratios(runs, "B", "A", "server_cpu_us"))
    cpu_d = statistics.median(ratios(runs, "D", "C", "server_cpu_us"))
    lines += ["", f"Server CPU per request, median of the rounds' ratios: B/A {cpu_b:.2f}, D/C {cpu_d:.2f}."]
    lines += [f"Outbox rows left by the run: {results['outbox_rows']}."]
    return "\n".join(lines)


def count_statements(token: str) -> dict:
    """Each kind's request made once to warm up, then again counted: {kind: {statements, atomic, sql}}."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def request(kind: str, n: int):
        if kind in ("A", "A0"):
            return client.post("/api/tasks", task_body(n), content_type="application/json"), 201
        if kind in ("B", "B0"):
            return client.post("/api/tasks", task_body(n, reminders=REMINDERS), content_type="application/json"), 201
        made = client.post("/api/tasks", task_body(n, **PREPARED[kind]), content_type="application/json")
        return client.patch(f"/api/tasks/{made.json()['id']}/complete", {"completed": True}, format="json"), 200

    in_atomic: list[bool] = []

    def watch(execute, sql, params, many, context):
        in_atomic.append(connection.in_atomic_block)
        return execute(sql, params, many, context)

    counted = {}
    for kind, (where, _) in KINDS.items():
        with override_settings(**({} if where == "on" else {"WEBHOOK_URL": None})):
            request(kind, 0)
            if kind in PREPARED:  # the task to complete is made before counting
                made = client.post("/api/tasks", task_body(1, **PREPARED[kind]), content_type="application/json")
                path = f"/api/tasks/{made.json()['id']}/complete"
                with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(watch):
                    in_atomic.clear()
                    response, expect = client.patch(path, {"completed": True}, format="json"), 200
            else:
                with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(watch):
                    in_atomic.clear()
                    response, expect = request(kind, 1)
        if response.status_code != expect:
            counted[kind] = {"error": response.status_code}
            continue
        counted[kind] = {
            "statements": len(queries),
            "atomic": any(in_atomic),
            "sql": [" ".join(query["sql"].split())[:160] for query in queries],
        }
    return counted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="per kind and round")
    parser.add_argument("--chunk", type=int, default=50, help="requests of one kind before the next kind's turn")
    parser.add_argument("--clients", type=int, default=1, help="concurrent keep-alive connections (1: sequential)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the Procfile's default, 2)")
    parser.add_argument("--statements", metavar="TOKEN", help=argparse.SUPPRESS)  # run.project_python's call
    args = parser.parse_args()
    if args.statements:
        print(json.dumps(count_statements(args.statements)))
        return 0
    sys.path.insert(0, str(BENCH))
    results = run_bench(args)
    print(render(results))
    for kind, counted in results["statements"].items():
        print(f"{kind}: " + " | ".join(counted.get("sql", [str(counted)])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
