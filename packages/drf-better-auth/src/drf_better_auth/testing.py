"""For the tests of a project that uses drf-better-auth: keys made at test time, a JWKS served on 127.0.0.1, and
tokens signed as Better Auth signs them (header `{alg, kid}`; `sub`, `iat`, `exp` 15 minutes on)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

# Every algorithm Better Auth's jwt plugin can sign with.
ALGORITHMS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"]


def generate_private_key(alg: str) -> Any:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ES512":
        return ec.generate_private_key(ec.SECP521R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class SigningKey:
    alg: str
    kid: str
    private: Any

    @property
    def jwk(self) -> dict[str, Any]:
        """The public key as Better Auth's JWKS lists it."""
        public = jwt.get_algorithm_by_name(self.alg).to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": self.alg}


def signing_keys() -> dict[str, SigningKey]:
    """A new key for each algorithm, its kid `kid-<alg>` (kid-eddsa, kid-es256, ...)."""
    return {alg: SigningKey(alg, f"kid-{alg.lower()}", generate_private_key(alg)) for alg in ALGORITHMS}


def make_token(
    keys: dict[str, SigningKey],
    *,
    sub: Any,
    alg: str = "EdDSA",
    key: Any = None,
    secret: str | None = None,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A signed token; a claim given as None is left out. Asymmetric tokens carry their key's kid; `key` signs
    instead of the algorithm's own (a wrong key, a withdrawn one); HS256 is signed with `key` or `secret`."""
    now = int(time.time())
    claims = {"sub": sub, "iat": now, "exp": now + 900, **claims}
    payload = {name: value for name, value in claims.items() if value is not None}
    if alg == "HS256":
        return jwt.encode(payload, key or secret, algorithm=alg, headers=headers)
    own = keys[alg]
    return jwt.encode(payload, key or own.private, algorithm=alg, headers={"kid": own.kid, **(headers or {})})


@dataclass
class JWKSServer:
    """A JWKS endpoint on 127.0.0.1 that counts its requests and can be made to fail (503)."""

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

    def respond(self) -> tuple[int, str, bytes]:
        self.hits += 1
        body = b"{}" if self.failing else json.dumps({"keys": self.keys}).encode()
        return 503 if self.failing else 200, "application/json", body


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


@contextmanager
def running_jwks_server(keys: list[dict[str, Any]] | None = None) -> Iterator[JWKSServer]:
    """A JWKSServer listening on a free port of 127.0.0.1 until the block ends."""
    state = JWKSServer(keys=list(keys or []))
    state.server = serve_on_loopback(state.respond)
    try:
        yield state
    finally:
        state.server.shutdown()
        state.server.server_close()
