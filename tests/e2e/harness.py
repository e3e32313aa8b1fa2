"""A real Better Auth server (e2e/better-auth-server.mjs), a browser-like client for it, and one for the API."""

import http.cookiejar
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers import ASYMMETRIC
from tests.live import free_port

E2E_DIR = Path(__file__).resolve().parents[2] / "e2e"
NODE, NPM = shutil.which("node"), shutil.which("npm")
ALGORITHMS = ASYMMETRIC  # every algorithm Better Auth's jwt plugin offers
STARTUP_TIMEOUT = 20.0
REQUEST_TIMEOUT = 10.0


def open_url(
    opener: urllib.request.OpenerDirector,
    method: str,
    url: str,
    *,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict | None]:
    """Send one request; return (status, headers with lower-case names, JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with opener.open(request, timeout=REQUEST_TIMEOUT) as response:
            status, raw, response_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, response_headers = error.code, error.read(), error.headers
    headers_out = {name.lower(): value for name, value in response_headers.items()}
    return status, headers_out, json.loads(raw) if raw else None


def direct_opener(*handlers: urllib.request.BaseHandler) -> urllib.request.OpenerDirector:
    # No proxy from the environment: every request here stays on 127.0.0.1.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), *handlers)


class BetterAuthServer:
    """One `node better-auth-server.mjs` process on 127.0.0.1, restartable on the same port and database."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.jwks_url = f"{self.url}/api/auth/jwks"
        self.log_path = workdir / f"better-auth-{self.port}.log"
        self.env = {
            **os.environ,
            "BETTER_AUTH_URL": self.url,
            "BETTER_AUTH_TELEMETRY": "0",
            "BETTER_AUTH_SECRET": secrets.token_urlsafe(32),
            "AUTH_DB_FILE": str(workdir / f"better-auth-{self.port}.sqlite3"),
            **env,
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [NODE, "better-auth-server.mjs"],
                cwd=E2E_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Better Auth exited early:\n{self.log_path.read_text()}")
            try:
                status, _, _ = open_url(direct_opener(), "GET", f"{self.url}/api/auth/ok")
            except OSError:
                time.sleep(0.1)
                continue
            if status == 200:
                return
        self.stop()
        raise RuntimeError(f"Better Auth did not start in {STARTUP_TIMEOUT}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def jwks_fetches(self) -> int:
        """How many times the JWKS has been requested, read from the server's request log."""
        return self.log_path.read_text().splitlines().count("GET /api/auth/jwks")

    def sign_up(self, *, email: str, password: str, name: str) -> str:
        """Create an account as a frontend would; return the new user's id."""
        status, _, body = open_url(
            direct_opener(),
            "POST",
            f"{self.url}/api/auth/sign-up/email",
            body={"email": email, "password": password, "name": name},
        )
        assert status == 200, body
        return body["user"]["id"]

    def sign_in(self, *, email: str, password: str) -> "BrowserSession":
        session = BrowserSession(self.url)
        status, _, body = session.call("POST", "/api/auth/sign-in/email", body={"email": email, "password": password})
        assert status == 200, body
        session.session_token = body["token"]
        return session


class BrowserSession:
    """A signed-in browser: Better Auth's session cookie in a jar, JWTs fetched with it."""

    def __init__(self, auth_url: str) -> None:
        self.auth_url = auth_url
        self.session_token = ""  # Better Auth's opaque session token, also in the cookie
        self.opener = direct_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method: str, path: str, *, body: dict | None = None) -> tuple[int, dict[str, str], dict | None]:
        # A page on the frontend's origin: the browser sends Origin, which Better Auth checks when a cookie comes along.
        return open_url(self.opener, method, f"{self.auth_url}{path}", body=body, headers={"Origin": self.auth_url})

    def token(self) -> str:
        """What `authClient.token()` does: GET /api/auth/token with the session cookie."""
        status, _, body = self.call("GET", "/api/auth/token")
        assert status == 200, body
        return body["token"]

    def session_jwt(self) -> str:
        """The JWT Better Auth sets in the `set-auth-jwt` header of GET /api/auth/get-session."""
        status, headers, body = self.call("GET", "/api/auth/get-session")
        assert status == 200, body
        assert "set-auth-jwt" in headers["access-control-expose-headers"]
        return headers["set-auth-jwt"]


class TodoApi:
    """The todo API under pytest-django's live_server, called with a bearer token."""

    def __init__(self, url: str, settings) -> None:
        self.url = url
        self.settings = settings
        self.opener = direct_opener()

    def trust(self, auth: BetterAuthServer) -> None:
        """Point the API's JWKS URL at this Better Auth server, as BETTER_AUTH_JWKS_URL would."""
        self.settings.BETTER_AUTH_JWKS_URL = auth.jwks_url

    def call(
        self, method: str, path: str, token: str | None, body: dict | None = None
    ) -> tuple[int, dict[str, str], dict | None]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return open_url(self.opener, method, f"{self.url}{path}", body=body, headers=headers)
