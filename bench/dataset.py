"""The benchmark data set: 20 users x 10,000 tasks plus one user with 100,000, bulk-loaded with COPY."""

import io
import random
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg2

SEARCH_WORD = "invoice"  # in about 1 title in 20, so `search=` has a realistic, selective match
VERBS = ["Write", "Review", "Call", "Fix", "Plan", "Send", "Read", "Clean", "Buy", "Book", "Check", "Pay"]
NOUNS = ["report", "email", "garden", "budget", "slides", "car", "tickets", "notes", "kitchen", "draft"]
CHUNK = 20_000


@dataclass
class DataSet:
    users: list[str]  # the 10k-task users
    big_user: str  # the 100k-task user
    read_pool: list[tuple[str, str]] = field(default_factory=list)  # (user_id, task_id) for get/put/toggle
    delete_pool: list[tuple[str, str]] = field(default_factory=list)  # disjoint from read_pool


def better_auth_id(rng: random.Random) -> str:
    """A 32-character random id, like the ones Better Auth gives its users."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(alphabet) for _ in range(32))


def task_lines(rng: random.Random, user_id: str, count: int, ids: list[str]):
    """Yield COPY text lines for `count` tasks of one user, created over the past year; append their ids."""
    now = datetime.now(UTC)
    step = timedelta(days=365) / count
    for i in range(count):
        task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ids.append(task_id)
        noun = SEARCH_WORD if rng.random() < 0.05 else rng.choice(NOUNS)
        title = f"{rng.choice(VERBS)} {noun} {i}"
        description = f"Notes about the {noun}, step {i % 7}." if rng.random() < 0.6 else r"\N"
        completed = "t" if rng.random() < 0.3 else "f"
        created = now - step * (count - i) - timedelta(microseconds=rng.randrange(1000))
        updated = created + timedelta(seconds=rng.randrange(86_400))
        fields = [task_id, user_id, title, description, completed, created.isoformat(), updated.isoformat()]
        yield "\t".join(fields) + "\n"


def progress(done: int, total: int) -> None:
    width = 40
    filled = width * done // total
    sys.stderr.write(f"\r  loading tasks [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def copy_tasks(cur, lines, total: int) -> None:
    """COPY the lines into tasks_task in chunks, drawing a progress bar."""
    done = 0
    buffer = io.StringIO()
    for n, line in enumerate(lines, 1):
        buffer.write(line)
        if n % CHUNK == 0 or n == total:
            buffer.seek(0)
            cur.copy_expert(
                "COPY tasks_task (id, user_id, title, description, completed, created_at, updated_at) FROM STDIN",
                buffer,
            )
            done = n
            progress(done, total)
            buffer = io.StringIO()


def load(dsn: str, *, users: int = 20, per_user: int = 10_000, big: int = 100_000, seed: int = 4) -> DataSet:
    """Fill an empty, migrated tasks_task, then VACUUM ANALYZE it (so counts are index-only scans) and CHECKPOINT."""
    rng = random.Random(seed)
    data = DataSet(users=[better_auth_id(rng) for _ in range(users)], big_user=better_auth_id(rng))
    small_ids: list[list[str]] = [[] for _ in data.users]

    def all_lines():
        for user_id, ids in zip(data.users, small_ids, strict=True):
            yield from task_lines(rng, user_id, per_user, ids)
        yield from task_lines(rng, data.big_user, big, [])

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            copy_tasks(cur, all_lines(), users * per_user + big)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE tasks_task")
            # The load leaves hundreds of MB of dirty pages; written now, not by a spread checkpoint during the runs.
            cur.execute("CHECKPOINT")
    finally:
        conn.close()

    pairs = [(user_id, task_id) for user_id, ids in zip(data.users, small_ids, strict=True) for task_id in ids]
    rng.shuffle(pairs)
    data.read_pool, data.delete_pool = pairs[:5_000], pairs[5_000:45_000]
    return data


def existing(dsn: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The users of the data a run left behind, fewest tasks first, and a sample of 2,000 (user_id, task_id)."""
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT user_id FROM tasks_task GROUP BY user_id ORDER BY count(*)")
            users = [row[0] for row in cur.fetchall()]
            cur.execute("SELECT user_id, id FROM tasks_task TABLESAMPLE SYSTEM (1) LIMIT 2000")
            return users, cur.fetchall()
    finally:
        conn.close()


def recreate_database(admin_dsn: str, name: str) -> None:
    """Drop and create the benchmark database, so every run starts from the same data."""
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
