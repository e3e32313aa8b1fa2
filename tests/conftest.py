"""Fixtures: signing keys made per test session, a JWKS served on 127.0.0.1, tokens, API clients and tasks."""

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_better_auth import testing
from rest_framework.test import APIClient

from tasks.models import Task
from tests.helpers import (
    ASYMMETRIC,
    EXAMPLES,
    SECRET,
    JWKSServer,
    SigningKey,
    generate_private_key,
    require_tool,
    run_in_examples,
    running_jwks_server,
)
from tests.live import Gunicorn, migrate, production_env


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, SigningKey]:
    return {alg: SigningKey(alg, f"kid-{alg.lower()}", generate_private_key(alg)) for alg in ASYMMETRIC}


@pytest.fixture(scope="session")
def jwks_server() -> Iterator[JWKSServer]:
    with running_jwks_server() as state:
        yield state


@pytest.fixture(autouse=True)
def better_auth(settings, jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]) -> JWKSServer:
    """Every test starts with all keys published, the shared secret set and no issuer/audience check."""
    jwks_server.reset([key.jwk for key in signing_keys.values()])
    settings.BETTER_AUTH_JWKS_URL = jwks_server.url
    settings.BETTER_AUTH_SECRET = SECRET
    settings.BETTER_AUTH_ISSUER = None
    settings.BETTER_AUTH_AUDIENCE = None
    settings.BETTER_AUTH_LEEWAY = 5
    settings.BETTER_AUTH_JWKS_COOLDOWN = 10
    return jwks_server


@pytest.fixture
def make_token(signing_keys: dict[str, SigningKey]) -> Callable[..., str]:
    """make_token(sub=..., alg="EdDSA", key=None, headers=None, **claims), HS256 signed with SECRET."""
    return functools.partial(testing.make_token, signing_keys, secret=SECRET)


@pytest.fixture
def client_for(make_token: Callable[..., str]) -> Callable[..., APIClient]:
    def build(sub: str, **token_options: Any) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(sub=sub, **token_options)}")
        return client

    return build


@pytest.fixture
def alice(client_for: Callable[..., APIClient]) -> APIClient:
    return client_for("alice")


@pytest.fixture
def bob(client_for: Callable[..., APIClient]) -> APIClient:
    return client_for("bob")


@pytest.fixture
def make_task() -> Callable[..., Task]:
    def make(*, user_id: str, **fields: Any) -> Task:
        return Task.objects.create(user_id=user_id, **{"title": "A task", **fields})

    return make


@pytest.fixture
def statements() -> Callable[[], contextlib.AbstractContextManager[list[str]]]:
    """`with statements() as sent:` the SQL sent inside the block, each as its first word (`statements.lock` for a
    row-locking read: `SELECT ... FOR UPDATE`, or a plain SELECT on SQLite, whose transactions lock the database when
    they begin), without the savepoints the test's own transaction turns `atomic()` into: what a request sends in
    production, where the outermost `atomic()` is BEGIN and COMMIT."""

    @contextlib.contextmanager
    def capture() -> Iterator[list[str]]:
        sent: list[str] = []
        with CaptureQueriesContext(connection) as context:
            yield sent
        for query in context.captured_queries:
            sql = query["sql"]
            if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
                sent.append(sql.split()[0] + (" ... FOR UPDATE" if sql.endswith("FOR UPDATE") else ""))

    capture.lock = "SELECT ... FOR UPDATE" if connection.features.has_select_for_update else "SELECT"
    return capture


@pytest.fixture(scope="session")
def production_database(tmp_path_factory) -> str:
    """A migrated SQLite file for API processes started by tests (the test database lives in this process)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('production') / 'db.sqlite3'}"
    migrate(production_env(DATABASE_URL=url))
    return url


def gunicorn_starter(database: str, jwks_url: str, log_dir) -> tuple[Callable[..., Gunicorn], list[Gunicorn]]:
    servers: list[Gunicorn] = []

    def start(*args: str, **env: str) -> Gunicorn:
        environment = production_env(
            DATABASE_URL=database, BETTER_AUTH_JWKS_URL=jwks_url, BETTER_AUTH_SECRET=SECRET, **env
        )
        server = Gunicorn(environment, log_dir / f"gunicorn-{len(servers)}.log", *args)
        servers.append(server)
        return server

    return start, servers


@pytest.fixture
def start_gunicorn(production_database: str, jwks_server: JWKSServer, tmp_path) -> Callable[..., Gunicorn]:
    """Start gunicorn with production settings (DEBUG off) on a free port; every one is stopped after the test."""
    start, servers = gunicorn_starter(production_database, jwks_server.url, tmp_path)
    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def start_module_gunicorn(production_database: str, jwks_server: JWKSServer, tmp_path_factory):
    """The same, for servers a whole test module shares."""
    start, servers = gunicorn_starter(production_database, jwks_server.url, tmp_path_factory.mktemp("gunicorn"))
    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server_database(request, production_database: str) -> str:
    """The database for API processes a test starts: on PostgreSQL the test database itself, through the same host
    (the pooler, when the run goes through one), so the test must use `transactional_db`; else the SQLite file."""
    if connection.vendor != "postgresql":
        return production_database
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and not marker.kwargs.get("transaction", False):
        # In a rolled-back test transaction the servers' commits would outlive the test, in every later test.
        pytest.fail("A test whose servers use the test database must be marked django_db(transaction=True).")
    request.getfixturevalue("transactional_db")
    database = connection.settings_dict
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"


@pytest.fixture
def start_server(server_database: str, jwks_server: JWKSServer, tmp_path) -> Callable[..., Gunicorn]:
    """Like start_gunicorn, on `server_database`."""
    start, servers = gunicorn_starter(server_database, jwks_server.url, tmp_path)
    yield start
    for server in servers:
        server.stop()


# --- Node.js: the typed client in examples/ ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def examples() -> Path:
    """examples/ with its pinned packages installed (npm ci when the lock file changed) and the API types
    generated from the committed openapi.yaml."""
    npm = require_tool("npm", "install Node.js 20 or newer")
    installed = EXAMPLES / "node_modules" / ".package-lock.json"
    lock = EXAMPLES / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        run_in_examples(npm, "ci", "--no-audit", "--no-fund")
    run_in_examples(npm, "run", "--silent", "generate")
    return EXAMPLES
