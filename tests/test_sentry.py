"""Error tracking against a fake Sentry ingest endpoint on 127.0.0.1: the event of a 500 arrives, tagged with the
request id, with no token in it; refusals and other errors are not reported."""

import gzip
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import SECRET
from tests.live import Gunicorn, call, free_port, production_env


class FakeIngest:
    """Sentry's envelope endpoint: keeps every envelope it is sent, decompressed."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        received = self.envelopes

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                encoding = self.headers.get("Content-Encoding")
                received.append(gzip.decompress(body) if encoding == "gzip" else body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def dsn(self) -> str:
        return f"http://public-key@127.0.0.1:{self.server.server_address[1]}/42"

    def events(self) -> list[dict]:
        return [payload for envelope in self.envelopes for kind, payload in items(envelope) if kind == "event"]


def items(envelope: bytes) -> Iterator[tuple[str, dict]]:
    """An envelope's items: a header line, then per item a header line and its payload (`length` bytes if given)."""
    rest = envelope.split(b"\n", 1)[1]
    while rest.strip():
        header_line, rest = rest.split(b"\n", 1)
        header = json.loads(header_line)
        length = header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length + 1 :]
        yield header["type"], json.loads(payload)


@pytest.fixture
def ingest() -> Iterator[FakeIngest]:
    fake = FakeIngest()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def server_without_database(ingest, tmp_path) -> Iterator[Gunicorn]:
    """Production settings, Sentry on, the failing route, and no database behind it (connections are refused)."""
    env = production_env(
        SENTRY_DSN=ingest.dsn,
        DJANGO_SETTINGS_MODULE="tests.failing_settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nothing",
        BETTER_AUTH_SECRET=SECRET,
    )
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    yield server
    server.stop()


def test_a_500_reaches_sentry_with_its_request_id_and_without_the_token(server_without_database, ingest, make_token):
    server = server_without_database
    token = make_token(sub="alice", alg="HS256")
    bearer = [("Authorization", f"Bearer {token}")]
    # Not reported: a refusal, an unknown route, a wrong token, an unreachable database (an ERROR line, not a bug).
    assert call(server.url, "GET", "/health/ready").status == 503
    assert call(server.url, "GET", "/api/tasks").status == 401
    assert call(server.url, "GET", "/api/nope", headers=bearer).status == 404
    assert call(server.url, "GET", "/api/tasks", headers=[("Authorization", "Bearer x.y.z")]).status == 401
    failed = call(server.url, "GET", f"/fail?token={token}", headers=[*bearer, ("X-Request-ID", "req-sentry")])
    assert failed.status == 500
    deadline = time.monotonic() + 20
    while not ingest.events() and time.monotonic() < deadline:
        time.sleep(0.1)
    server.stop()  # the workers flush what they still hold on the way out
    print(json.dumps(ingest.events(), indent=1))  # shown when the test fails

    [event] = ingest.events()
    assert event["tags"]["request_id"] == "req-sentry"
    [exception] = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "forced failure while handling Bearer [token redacted]"
    assert event["request"]["url"].endswith("/fail")
    assert "Authorization" not in event["request"]["headers"]
    assert "query_string" not in event["request"]
    assert "user" not in event
    sent = b"".join(ingest.envelopes).decode()
    assert "alice" not in sent
    for part in token.split("."):
        assert part[:40] not in sent
