"""10,000 reminders due at once, delivered by ONE webhook worker (the Procfile's `worker:` command) to a fast local
receiver on 127.0.0.1: how many arrive, and their lag (arrival minus the reminder's time), p50/p99/max.

    .venv/bin/python bench/webhooks.py [--count 10000] [--spread 0] [--concurrency 32]

Needs the local PostgreSQL (postgres://postgres@127.0.0.1:5432, trust auth): it makes and drops the database
`bench_webhooks`. The rows are written as tasks/outbox.py writes them (a task with `reminders: [0]` and a
`task.reminder` message due at its due date), all due at one moment about 20 s ahead (`--spread S`: spread evenly
over S seconds instead). The receiver (its own process, asyncio, keep-alive) checks every signature with the
standardwebhooks library and answers 204. Run it on an idle machine (`uptime` load below 1): it says so otherwise.
"""

import argparse
import asyncio
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"
DATABASE = "bench_webhooks"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LEAD = 20.0  # seconds between the start and the reminders' time: the rows and the worker are ready by then


def environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "todo_project.settings",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 50,
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "DIRECT_DATABASE_URL": "",
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        **extra,
    }


# --- The receiver ---------------------------------------------------------------------------------------------------
def receive(port_out, results, expected: int) -> None:
    """Serve on 127.0.0.1 until `expected` distinct webhook-ids arrived (or SIGTERM); send [(arrival, id), ...]."""
    from standardwebhooks import Webhook

    verifier = Webhook(SECRET)
    arrivals: list[tuple[float, str]] = []
    bad = 0
    done = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal bad
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                arrived = time.time()
                try:
                    verifier.verify(body, headers)
                except Exception:  # noqa: BLE001 (counted and reported)
                    bad += 1
                arrivals.append((arrived, headers.get("webhook-id", "")))
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                if len({webhook_id for _, webhook_id in arrivals}) >= expected:
                    done.set()
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=512)
        port_out.send(server.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, done.set)
        await done.wait()
        server.close()

    asyncio.run(main())
    results.send((arrivals, bad))


# --- The rows -------------------------------------------------------------------------------------------------------
def create_database() -> None:
    subprocess.run(
        ["psql", "-q", f"{SERVER}/postgres", "-c", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"], check=True
    )
    subprocess.run(["psql", "-q", f"{SERVER}/postgres", "-c", f"CREATE DATABASE {DATABASE}"], check=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        env=environment(),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def insert_reminders(count: int, at, spread: float) -> dict[str, float]:
    """Tasks with `reminders: [0]` and their reminder messages, as the outbox writes them on create; each message's
    time by webhook-id."""
    os.environ.update(environment())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import transaction

    from tasks.models import Task, WebhookMessage

    due = {}
    for start in range(0, count, 1000):
        tasks, messages = [], []
        for number in range(start, min(start + 1000, count)):
            remind_at = at + timedelta(seconds=spread * number / count)
            task = Task(
                id=uuid.uuid4(),
                user_id=f"user-{number % 500}",
                title=f"Reminder {number}",
                due_at=remind_at,
                reminders=[0],
            )
            tasks.append(task)
            data = {
                "user_id": task.user_id,
                "remind_at": remind_at.isoformat().replace("+00:00", "Z"),
                "offset_minutes": 0,
            }
            messages.append(
                WebhookMessage(
                    user_id=task.user_id,
                    task_id=task.id,
                    type="task.reminder",
                    data=data,
                    created_at=remind_at,
                    next_attempt_at=remind_at,
                )
            )
        with transaction.atomic():
            Task.objects.bulk_create(tasks)
            WebhookMessage.objects.bulk_create(messages)
        due.update((str(message.webhook_id), message.created_at.timestamp()) for message in messages)
    return due


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(int(len(values) * share), len(values) - 1)]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=0.0, help="seconds the reminders' times spread over")
    parser.add_argument("--concurrency", type=int, default=None, help="the worker's --concurrency (default: its own)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    if load >= 1:
        print(f"warning: load average {load:.2f} (>= 1): the numbers will be worse than on an idle machine")

    create_database()
    port_in, port_out = multiprocessing.Pipe(duplex=False)
    results_in, results_out = multiprocessing.Pipe(duplex=False)
    receiver = multiprocessing.Process(target=receive, args=(port_out, results_out, args.count))
    receiver.start()
    port = port_in.recv()

    from datetime import UTC, datetime

    at = datetime.now(UTC) + timedelta(seconds=LEAD)
    started = time.monotonic()
    due = insert_reminders(args.count, at, args.spread)
    print(
        f"{args.count} reminders written in {time.monotonic() - started:.1f} s, due at {at.isoformat()}"
        f" + {args.spread} s"
    )

    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("worker:"))
    command = line[len("worker:") :].strip() + (f" --concurrency {args.concurrency}" if args.concurrency else "")
    log = Path(tempfile.mkstemp(prefix="bench-webhooks-worker-", suffix=".log")[1])
    print(f"the worker's log: {log}")
    env = environment(WEBHOOK_URL=f"http://127.0.0.1:{port}/webhooks", WEBHOOK_SECRET=SECRET, LOG_FORMAT="json")
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [shutil.which("bash"), "-c", f"exec {command}"], env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        time.sleep(max(at.timestamp() - time.time(), 0))
        cpu_before = cpu_seconds(worker.pid)
        deadline = at.timestamp() + args.spread + 120
        while not results_in.poll(0.2) and time.time() < deadline:
            pass
        cpu = cpu_seconds(worker.pid) - cpu_before
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        if not results_in.poll():
            os.kill(receiver.pid, signal.SIGTERM)
    arrivals, bad = results_in.recv()
    receiver.join(10)
    subprocess.run(["psql", "-q", f"{SERVER}/postgres", "-c", f"DROP DATABASE {DATABASE} WITH (FORCE)"], check=True)

    ids = [webhook_id for _, webhook_id in arrivals]
    first: dict[str, float] = {}
    for arrived, webhook_id in arrivals:
        first.setdefault(webhook_id, arrived)
    lags = [arrived - due[webhook_id] for webhook_id, arrived in first.items()]
    early = sum(lag < 0 for lag in lags)
    last = max(first.values()) - at.timestamp()
    print(
        f"delivered {len(first)}/{args.count} (duplicates {len(ids) - len(set(ids))}, early {early}, bad signatures "
        f"{bad}); "
        f"lag p50 {statistics.median(lags):.2f} s, p99 {percentile(lags, 0.99):.2f} s, max {max(lags):.2f} s; "
        f"last at +{last:.2f} s; {len(first) / max(last, 1e-9):.0f} deliveries/s; worker CPU {cpu:.1f} s "
        f"({cpu / len(first) * 1e6:.0f} µs per delivery); load average before {load:.2f}"
    )


if __name__ == "__main__":
    main()
