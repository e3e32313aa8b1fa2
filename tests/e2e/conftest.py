"""Fixtures for the end-to-end tests: Better Auth servers started on demand, and the API under live_server."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import require_tool

from .harness import E2E_DIR, NPM, BetterAuthServer, TodoApi


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """Install e2e/package-lock.json once, the way CI does, when e2e/node_modules is missing."""
    require_tool("node", "Node.js 20+ runs the Better Auth server")
    require_tool("npm", "npm installs e2e/package-lock.json")
    modules = E2E_DIR / "node_modules"
    if not (modules / ".package-lock.json").is_file():  # npm writes it last
        subprocess.run([NPM, "ci", "--no-audit", "--no-fund"], cwd=E2E_DIR, check=True, timeout=600)
    return modules


@pytest.fixture
def start_better_auth(node_modules: Path, tmp_path: Path) -> Iterator:
    """Start Better Auth servers with extra environment (JWT_ALG, JWT_EXPIRATION, ...); stop them all at teardown."""
    servers: list[BetterAuthServer] = []

    def start(**env: str) -> BetterAuthServer:
        server = BetterAuthServer(tmp_path, **env)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def todo_api(live_server, settings) -> TodoApi:
    """The API as deployed next to Better Auth: JWKS only, no shared secret, no issuer or audience pinned."""
    settings.BETTER_AUTH_SECRET = None
    settings.BETTER_AUTH_ISSUER = None
    settings.BETTER_AUTH_AUDIENCE = None
    return TodoApi(live_server.url, settings)
