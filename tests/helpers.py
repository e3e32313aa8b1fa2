"""Test helpers shared by several test modules: signing keys, a JWKS server on 127.0.0.1, Node.js tools.

Fixtures live in conftest.py; what a test imports lives here.
"""

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

SECRET = "tests-only-shared-secret-of-32-bytes-or-more"


@dataclass
class SigningKey:
    alg: str
    kid: str
    private: Any

    @property
    def jwk(self) -> dict[str, Any]:
        public = jwt.get_algorithm_by_name(self.alg).to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": self.alg}


def generate_private_key(alg: str) -> Any:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ES512":
        return ec.generate_private_key(ec.SECP521R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


ASYMMETRIC = ["EdDSA", "ES256", "ES512", "RS256", "PS256"]


@dataclass
class JWKSServer:
    """A JWKS endpoint on 127.0.0.1 that counts its requests and can be made to fail."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0
    failing: bool = False
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/auth/jwks"

    def reset(self, keys: list[dict[str, Any]]) -> None:
        self.keys, self.hits, self.failing = list(keys), 0, False


def serve_on_loopback(respond: Callable[[], tuple[int, str, bytes]]) -> ThreadingHTTPServer:
    """An HTTP server on a free port of 127.0.0.1 answering every GET with respond()'s (status, type, body)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = respond()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_jwks(state: JWKSServer) -> ThreadingHTTPServer:
    def respond() -> tuple[int, str, bytes]:
        state.hits += 1
        status, body = (503, b"{}") if state.failing else (200, json.dumps({"keys": state.keys}).encode())
        return status, "application/json", body

    return serve_on_loopback(respond)


@contextmanager
def running_jwks_server() -> Iterator[JWKSServer]:
    """A JWKSServer listening on 127.0.0.1 until the block ends."""
    state = JWKSServer()
    state.server = serve_jwks(state)
    try:
        yield state
    finally:
        state.server.shutdown()
        state.server.server_close()


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
