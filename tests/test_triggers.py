"""The triggers on tasks_task (tasks/triggers.py): installed as written there, and still there after every SQLite
table rebuild, migrating forwards from zero and backwards."""

import re
import sqlite3
import subprocess
import sys

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tasks import triggers
from tests.live import ROOT, production_env


def normalized(sql: str) -> str:
    return re.sub(r"\s+", " ", sql.replace("CREATE TRIGGER IF NOT EXISTS", "CREATE TRIGGER")).strip()


def installed(path) -> set[str]:
    with sqlite3.connect(path) as database:
        rows = database.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tasks_task'")
        return {normalized(sql) for (sql,) in rows}


def manage(path, *args: str) -> None:
    env = production_env(DATABASE_URL=f"sqlite:///{path}")
    subprocess.run(
        [sys.executable, "manage.py", *args, "--no-input"], env=env, cwd=ROOT, check=True, capture_output=True
    )


def previous_migration() -> str:
    """The name of the migration before the newest of tasks."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    (newest,) = graph.leaf_nodes("tasks")
    (parent,) = [node.key for node in graph.node_map[newest].parents if node.key[0] == "tasks"]
    return parent[1]


def test_the_sqlite_triggers_are_those_of_the_module_after_migrating_from_zero_back_and_forth(tmp_path):
    """0006 and 0008 rebuild tasks_task on SQLite (which drops every trigger on it): ReinstallTriggers puts them back,
    after the migration and after undoing it."""
    database = tmp_path / "db.sqlite3"
    expected = {normalized(sql) for sql in triggers.SQLITE_TRIGGERS}
    manage(database, "migrate")
    assert installed(database) == expected
    manage(database, "migrate", "tasks", previous_migration())  # undoing the newest alone: its first step
    assert installed(database) == expected
    manage(database, "migrate", "tasks", "0005")  # undoes 0008 and 0006 too: two more rebuilds
    assert installed(database) == expected
    manage(database, "migrate")
    assert installed(database) == expected


@pytest.mark.django_db
def test_the_test_database_has_every_trigger_of_the_module():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'tasks_task'::regclass AND NOT tgisinternal")
            statements = [*triggers.COUNTS_POSTGRESQL, *triggers.FEED_POSTGRESQL]
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tasks_task'")
            statements = triggers.SQLITE_TRIGGERS
        names = {sql.split()[2] for sql in statements if sql.startswith("CREATE TRIGGER")}
        assert {name for (name,) in cursor.fetchall()} == names
