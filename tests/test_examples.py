"""The typed client in examples/: its types are generated from openapi.yaml, tsc checks it (and the Next.js code
of docs/nextjs.md) against them, and it runs against the real API."""

import json
import os
from pathlib import Path

import pytest

from tasks.models import Task

from .conftest import run_in_examples


def test_examples_type_check_against_the_generated_types(examples: Path):
    run_in_examples("node_modules/.bin/tsc", "--noEmit")


@pytest.mark.django_db(transaction=True)
def test_typed_client_lists_creates_toggles_and_deletes(examples: Path, live_server, make_token):
    run_in_examples("node_modules/.bin/tsc", "--noEmit", "false", "--outDir", "build")
    env = {**os.environ, "API_URL": live_server.url, "TOKEN": make_token(sub="alice")}
    seen = json.loads(run_in_examples("node", "build/demo.js", env=env, timeout=60))
    assert seen["created"]["title"] == "Buy milk"
    assert seen["created"]["user_id"] == "alice"
    assert seen["listedCount"] == 1
    assert seen["toggled"]["completed"] is True
    assert seen["countAfterDelete"] == 0
    assert not Task.objects.exists()
