"""The benchmark data set: 20 users x 10,000 tasks plus one user with 100,000, bulk-loaded with COPY.

The due dates, priorities and tags (issue #12) are loaded where the schema has them, drawn from a random stream of
their own, so a schema without them (the baseline's) gets the very same tasks.
"""

import io
import json
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
BASE_COLUMNS = ("id", "user_id", "title", "description", "completed", "created_at", "updated_at")
# On the 100k-task user: each tag on this share (%) of the tasks, `priority=high` on a quarter, a tenth overdue.
TAG_SHARES = {1: "errand", 10: "home", 50: "work"}
HIGH_SHARE = 0.25
OVERDUE_SHARE = 0.10
PRIORITIES = ["none", "low", "medium", "high"]


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


class NewFields:
    """How this schema stores the fields of issue #12, read from information_schema: the columns to COPY beyond
    BASE_COLUMNS and their values as COPY text."""

    def __init__(self, cur) -> None:
        cur.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'tasks_task'")
        types = dict(cur.fetchall())
        self.columns = tuple(c for c in ("due_at", "priority", "tags", "completed_at", "version") if c in types)
        self.types = types

    def values(self, rng: random.Random, *, completed: bool, updated: datetime, now: datetime, big: bool) -> list[str]:
        if big:
            tags = [tag for share, tag in TAG_SHARES.items() if rng.random() < share / 100]
            priority = "high" if rng.random() < HIGH_SHARE else rng.choice(PRIORITIES[:3])
            # Overdue is open and past due: drawn among the open tasks so that a tenth of all tasks are.
            overdue = not completed and rng.random() < OVERDUE_SHARE / 0.7
        else:
            tags = rng.sample(["home", "work", "errand", "urgent", "later"], rng.choice([0, 0, 1, 2]))
            priority, overdue = rng.choice(PRIORITIES), False
        if overdue:
            due = now - timedelta(hours=rng.randrange(1, 24 * 30))
        elif rng.random() < 0.5:
            due = now + timedelta(hours=rng.randrange(1, 24 * 60))
        else:
            due = None
        value = {
            "due_at": due.isoformat() if due else r"\N",
            "priority": str(PRIORITIES.index(priority)) if "int" in self.types.get("priority", "") else priority,
            "tags": json.dumps(tags) if self.types.get("tags") in ("json", "jsonb") else "{" + ",".join(tags) + "}",
            "completed_at": updated.isoformat() if completed else r"\N",
            "version": "1",
        }
        return [value[column] for column in self.columns]


def task_lines(rng: random.Random, user_id: str, count: int, ids: list[str], *, new_fields=None, big=False):
    """Yield COPY text lines for `count` tasks of one user, created over the past year; append their ids."""
    now = datetime.now(UTC)
    step = timedelta(days=365) / count
    extra = random.Random(f"{user_id} new fields")
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
        if new_fields is not None and new_fields.columns:
            fields += new_fields.values(extra, completed=completed == "t", updated=updated, now=now, big=big)
        yield "\t".join(fields) + "\n"


def progress(done: int, total: int) -> None:
    width = 40
    filled = width * done // total
    sys.stderr.write(f"\r  loading tasks [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def copy_tasks(cur, lines, total: int, *, columns: tuple[str, ...] = BASE_COLUMNS) -> None:
    """COPY the lines into tasks_task in chunks, drawing a progress bar."""
    done = 0
    buffer = io.StringIO()
    for n, line in enumerate(lines, 1):
        buffer.write(line)
        if n % CHUNK == 0 or n == total:
            buffer.seek(0)
            cur.copy_expert(f"COPY tasks_task ({', '.join(columns)}) FROM STDIN", buffer)
            done = n
            progress(done, total)
            buffer = io.StringIO()


def load(dsn: str, *, users: int = 20, per_user: int = 10_000, big: int = 100_000, seed: int = 4) -> DataSet:
    """Fill an empty, migrated tasks_task, then VACUUM ANALYZE it (so counts are index-only scans) and CHECKPOINT."""
    rng = random.Random(seed)
    data = DataSet(users=[better_auth_id(rng) for _ in range(users)], big_user=better_auth_id(rng))
    small_ids: list[list[str]] = [[] for _ in data.users]

    def all_lines(new_fields: NewFields):
        for user_id, ids in zip(data.users, small_ids, strict=True):
            yield from task_lines(rng, user_id, per_user, ids, new_fields=new_fields)
        yield from task_lines(rng, data.big_user, big, [], new_fields=new_fields, big=True)

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            new_fields = NewFields(cur)
            copy_tasks(cur, all_lines(new_fields), users * per_user + big, columns=BASE_COLUMNS + new_fields.columns)
        settle(conn)
    finally:
        conn.close()

    pairs = [(user_id, task_id) for user_id, ids in zip(data.users, small_ids, strict=True) for task_id in ids]
    rng.shuffle(pairs)
    data.read_pool, data.delete_pool = pairs[:5_000], pairs[5_000:45_000]
    return data


def settle(conn) -> None:
    """After a load: VACUUM ANALYZE tasks_task (so counts are index-only scans) and CHECKPOINT (the load leaves
    hundreds of MB of dirty pages; written now, not by a spread checkpoint during the measurements)."""
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE tasks_task")
        cur.execute("CHECKPOINT")


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
