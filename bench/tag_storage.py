"""Tag storage on PostgreSQL, measured: one user with 100,000 tasks (and 100,000 of other users), a tag on 1%, 10%
and 50% of them, stored four ways; the list's two queries (count, first page) per way. Run by hand:

    .venv/bin/python bench/tag_storage.py [--dsn postgres://postgres@127.0.0.1:5432/postgres]

It creates and drops its own database (tag_storage_bench). Results: BENCHMARKS.md, "Tag storage".
"""

import argparse
import statistics
import time

import psycopg2

USER_TASKS = 100_000
SHARES = {"one_percent": 100, "ten_percent": 10, "half": 2}  # tag name: one task in N carries it
SCHEMA = """
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE TABLE task (id bigint PRIMARY KEY, user_id text NOT NULL, created_at timestamptz NOT NULL,
                   tags_jsonb jsonb NOT NULL, tags_array text[] NOT NULL);
INSERT INTO task
SELECT n, CASE WHEN n <= {user_tasks} THEN 'big' ELSE 'other-' || (n % 20) END,
       now() - n * interval '1 minute',
       to_jsonb(tags), tags
FROM generate_series(1, {total}) AS n,
     LATERAL (SELECT array_remove(ARRAY[
         CASE WHEN n % 100 = 0 THEN 'one_percent' END,
         CASE WHEN n % 10 = 0 THEN 'ten_percent' END,
         CASE WHEN n % 2 = 0 THEN 'half' END,
         CASE WHEN n % 3 = 0 THEN 'filler' END], NULL) AS tags) AS t;
CREATE TABLE task_tag (task_id bigint NOT NULL, user_id text NOT NULL, key text NOT NULL, PRIMARY KEY (task_id, key));
INSERT INTO task_tag SELECT id, user_id, unnest(tags_array) FROM task;
CREATE INDEX task_user_created ON task (user_id, created_at DESC, id DESC);
CREATE INDEX task_jsonb_gin ON task USING gin (user_id, tags_jsonb jsonb_path_ops) WITH (fastupdate = off);
CREATE INDEX task_array_gin ON task USING gin (user_id, tags_array) WITH (fastupdate = off);
CREATE INDEX task_tag_user_key ON task_tag (user_id, key, task_id);
"""
WAYS = {
    "jsonb + GIN (user_id, jsonb_path_ops)": "tags_jsonb @> %(jsonb)s::jsonb",
    "text[] + GIN (user_id, array_ops)": "tags_array @> ARRAY[%(tag)s]",
    "tag table, btree (user_id, key, task_id)": (
        "EXISTS (SELECT 1 FROM task_tag WHERE task_tag.task_id = task.id AND task_tag.user_id = 'big' "
        "AND task_tag.key = %(tag)s)"
    ),
    "jsonb, no tag index (the user's rows, filtered)": "(tags_jsonb || '[]') @> %(jsonb)s::jsonb",
}


def timed(cursor, sql: str, params: dict, runs: int) -> float:
    """Median wall time in ms of `runs` executions, after one warm-up."""
    cursor.execute(sql, params)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        cursor.execute(sql, params)
        cursor.fetchall()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    admin = psycopg2.connect(args.dsn)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS tag_storage_bench")
        cursor.execute("CREATE DATABASE tag_storage_bench")
    conn = psycopg2.connect(args.dsn.rsplit("/", 1)[0] + "/tag_storage_bench")
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(SCHEMA.format(user_tasks=USER_TASKS, total=2 * USER_TASKS))
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("SELECT pg_size_pretty(pg_relation_size(%s))", ["task_jsonb_gin"])
            sizes = {"jsonb GIN": cursor.fetchone()[0]}
            cursor.execute("SELECT pg_size_pretty(pg_relation_size(%s))", ["task_array_gin"])
            sizes["array GIN"] = cursor.fetchone()[0]
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size(%s))", ["task_tag"])
            sizes["tag table + indexes"] = cursor.fetchone()[0]
            plain = timed(cursor, "SELECT count(*) FROM task WHERE user_id = 'big'", {}, args.runs)
            page = timed(
                cursor,
                "SELECT id FROM task WHERE user_id = 'big' ORDER BY created_at DESC, id DESC LIMIT 50",
                {},
                args.runs,
            )
            print(f"plain list of the 100k-task user: count(*) {plain:.2f} ms, first page {page:.2f} ms")
            print(f"index sizes: {sizes}")
            print("| storage | tag on | count ms | first page ms |")
            print("|---|---|---:|---:|")
            for way, condition in WAYS.items():
                for tag, every in SHARES.items():
                    params = {"tag": tag, "jsonb": f'["{tag}"]'}
                    where = f"user_id = 'big' AND {condition}"
                    # The conditions are this file's constants; the tag goes in as a parameter.
                    count = timed(cursor, f"SELECT count(*) FROM task WHERE {where}", params, args.runs)  # noqa: S608
                    first = timed(
                        cursor,
                        f"SELECT id FROM task WHERE {where} ORDER BY created_at DESC, id DESC LIMIT 50",  # noqa: S608
                        params,
                        args.runs,
                    )
                    print(f"| {way} | {100 // every}% | {count:.2f} | {first:.2f} |")
    finally:
        conn.close()
        with admin.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS tag_storage_bench")
        admin.close()


if __name__ == "__main__":
    main()
