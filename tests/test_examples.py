"""The typed client in examples/: its types are generated from openapi.yaml, tsc checks it (and the Next.js code
of docs/nextjs.md and docs/deploy.md) against them, and it runs against the real API."""

import json
import os
import re
import time
from pathlib import Path

import pytest

from tasks.models import Task

from .helpers import EXAMPLES, run_in_examples


@pytest.fixture(scope="module")
def demo(examples: Path) -> str:
    """tsc over examples/ (type errors fail it), emitting JavaScript to run in Node as well."""
    run_in_examples("node_modules/.bin/tsc", "--noEmit", "false", "--outDir", "build")
    return "build/demo.js"


def test_examples_type_check_against_the_generated_types(demo: str):
    assert (EXAMPLES / demo).exists()


def test_the_deploy_guide_shows_the_checked_webhook_handler():
    """Each TypeScript block of docs/deploy.md (the webhook route handler, its types) is verbatim in examples/nextjs,
    so what the guide shows is what tsc checks."""
    blocks = re.findall(r"```ts\n(.*?)```", (EXAMPLES.parent / "docs" / "deploy.md").read_text(), flags=re.DOTALL)
    sources = [path.read_text() for path in (EXAMPLES / "nextjs").rglob("*.ts")]
    assert len(blocks) >= 2
    stale = [block.splitlines()[0] for block in blocks if not any(block in source for source in sources)]
    assert stale == [], f"docs/deploy.md shows code that is not in examples/nextjs; copy it from there: {stale}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stale", [None, "expired", "unknown_kid"])
def test_typed_client_lists_creates_toggles_and_deletes(demo: str, live_server, make_token, stale):
    """With a stale token (expired, or signed with a key Better Auth no longer has) the client gets a fresh one."""
    env = {**os.environ, "API_URL": live_server.url, "TOKEN": make_token(sub="alice")}
    if stale == "expired":
        env["STALE_TOKEN"] = make_token(sub="alice", exp=int(time.time()) - 60)
    elif stale == "unknown_kid":
        env["STALE_TOKEN"] = make_token(sub="alice", headers={"kid": "a-key-since-replaced"})
    seen = json.loads(run_in_examples("node", demo, env=env, timeout=60))
    assert seen["created"]["title"] == "Buy milk"
    assert seen["created"]["user_id"] == "alice"
    assert seen["retriedId"] == seen["created"]["id"]  # the same Idempotency-Key: replayed, not created again
    assert seen["created"]["due_at"].endswith("Z")
    assert (seen["created"]["priority"], seen["created"]["tags"]) == ("high", ["Errands", "shop"])
    assert seen["editedVersion"] == 2
    assert seen["conflictCurrentTitle"] == "Buy oat milk"  # the stale edit got 412, and the task as it is now
    assert seen["listedCount"] == 1
    assert seen["taggedCount"] == 1
    assert seen["tags"] == [{"name": "Errands", "count": 1}, {"name": "shop", "count": 1}]
    assert seen["toggled"]["completed"] is True
    assert seen["toggled"]["completed_at"].endswith("Z")
    assert seen["exported"]["user_id"] == "alice"
    assert seen["exported"]["tasks"] == [seen["toggled"]]
    assert seen["downloaded"]["tasks"] == [seen["toggled"]]
    assert seen["synced"] == [seen["created"]["id"]]
    assert seen["syncedAfterToggle"] is True
    assert seen["syncedAfterDelete"] == []  # the tombstone removed it from the local copy
    assert seen["countAfterDelete"] == 0
    assert not Task.objects.exists()
