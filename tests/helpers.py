"""Test helpers shared by several test modules: keys, tokens and a JWKS server (drf_better_auth.testing), an HTTP
server on 127.0.0.1, Node.js tools.

Fixtures live in conftest.py; what a test imports lives here.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from drf_better_auth.testing import ALGORITHMS as ASYMMETRIC
from drf_better_auth.testing import (
    JWKSServer,
    SigningKey,
    generate_private_key,
    running_jwks_server,
    serve_on_loopback,
)

__all__ = ["ASYMMETRIC", "JWKSServer", "SigningKey", "generate_private_key", "running_jwks_server", "serve_on_loopback"]

SECRET = "tests-only-shared-secret-of-32-bytes-or-more"

# Webhooks on, every event type, to an address nothing listens on (tests of the outbox; the worker is not running).
WEBHOOK_SECRET = "whsec_dGVzdHMtb25seS13ZWJob29rLWtleS0zMmJ5dGVzISE="
WEBHOOKS_ON = {
    "WEBHOOK_URL": "http://127.0.0.1:9/webhooks",
    "WEBHOOK_SECRET": WEBHOOK_SECRET,
    "WEBHOOK_EVENTS": frozenset(["task.reminder", "task.created", "task.updated", "task.completed", "task.deleted"]),
}


# --- Node.js: the typed client in examples/ and the browser driver (playwright-core) ---------------------------------
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def require_tool(name: str, install_hint: str) -> str:
    """The tool's path; a skip when it is missing locally, a failure in CI (CI=true), where it must be there."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed ({install_hint})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def run_in_examples(*command: str, timeout: int = 600, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command, cwd=EXAMPLES, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout
