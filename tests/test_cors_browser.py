"""CORS in a real browser: headless Chromium, on pages served from other 127.0.0.1 ports, calls the API with
`fetch()` and a bearer token, as a frontend on another origin does."""

import json
import subprocess
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tasks.models import Task

from .helpers import require_tool, serve_on_loopback

DRIVER = Path(__file__).with_name("cors_browser.mjs")


PAGE = b"<!doctype html><title>frontend</title><p>frontend</p>"


def serve_page() -> ThreadingHTTPServer:
    """A static page on a free port of 127.0.0.1: its own origin, as a Next.js frontend would have."""
    return serve_on_loopback(lambda: (200, "text/html; charset=utf-8", PAGE))


@pytest.fixture
def pages() -> Iterator[tuple[str, str]]:
    """Two page origins: the one the API allows, and another one."""
    servers = [serve_page(), serve_page()]
    yield tuple(f"http://127.0.0.1:{server.server_address[1]}" for server in servers)
    for server in servers:
        server.shutdown()
        server.server_close()


def run_browser(*, chromium: str, user_data_dir: Path, scenarios: dict[str, dict[str, Any]]) -> dict[str, Any]:
    config = {"executablePath": chromium, "userDataDir": str(user_data_dir), "scenarios": scenarios}
    node = require_tool("node", "install Node.js 20 or newer")
    result = subprocess.run(
        [node, str(DRIVER), json.dumps(config)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    print(json.dumps(json.loads(result.stdout), indent=1))  # shown by pytest when the test fails
    return json.loads(result.stdout)


@pytest.mark.django_db(transaction=True)
def test_browser_on_another_origin(examples, live_server, pages, settings, make_token, tmp_path):
    chromium = require_tool("chromium", "apt-get install chromium; .ci/run installs it")
    allowed, other = pages
    settings.CORS_ALLOWED_ORIGINS = [allowed]
    settings.THROTTLE_USER_RATE = "4/min"  # the CRUD scenario makes 4 calls before its last
    # Fresh user ids: the rate limit counts every request of a user id in this process, earlier tests' too.
    user, throttled_user = f"browser-{uuid.uuid4()}", f"throttled-{uuid.uuid4()}"
    api = live_server.url

    seen = run_browser(
        chromium=chromium,
        user_data_dir=tmp_path / "profile",
        scenarios={
            "allowed": {"page": allowed, "kind": "crud", "api": api, "token": make_token(sub=user)},
            "throttled": {
                "page": allowed,
                "kind": "throttled",
                "api": api,
                "token": make_token(sub=throttled_user),
                "attempts": 6,
            },
            "blocked": {"page": other, "kind": "blocked", "api": api, "token": make_token(sub=user)},
        },
    )

    crud = seen["allowed"]
    assert "HeadlessChrome" in crud["userAgent"]
    assert crud["origin"] == allowed
    # The preflights for POST + JSON, PATCH and DELETE with Authorization passed (with Idempotency-Key,
    # X-Request-ID, If-None-Match and If-Match too), and Location and X-Request-ID are readable.
    assert crud["created"]["status"] == 201
    assert crud["created"]["location"] == f"{api}/api/tasks/{crud['created']['id']}"
    assert crud["created"]["requestId"] == "from-the-browser"
    assert crud["read"]["status"] == 200
    assert len(crud["read"]["requestId"]) == 36  # one the API made
    assert crud["notExposed"] is None  # the API sends X-Frame-Options, but only exposed headers reach page code
    assert crud["toggled"] == {"status": 200, "completed": True}
    assert crud["deleted"] == {"status": 204}
    assert crud["withCredentials"]["error"].startswith("TypeError")  # no credentials: bearer tokens only
    assert not Task.objects.exists()

    throttled = seen["throttled"]
    assert throttled["statuses"] == [200, 200, 200, 200, 429]
    assert int(throttled["retryAfter"]) > 0
    assert throttled["body"]["detail"]

    blocked = seen["blocked"]
    assert blocked["origin"] == other
    assert blocked["withToken"]["error"].startswith("TypeError")
