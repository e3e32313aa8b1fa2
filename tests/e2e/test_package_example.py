"""packages/drf-better-auth/example/app.py, a one-file Django project, verifies a real Better Auth EdDSA token.

Here it runs on the project's interpreter; .ci/package runs it again with DRF_BETTER_AUTH_PYTHON set to a fresh
virtual environment that holds only the built wheel, Django and DRF.
"""

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from tests.live import free_port

from .harness import E2E_DIR, STARTUP_TIMEOUT, direct_opener, open_url

EXAMPLE = E2E_DIR.parent / "packages" / "drf-better-auth" / "example" / "app.py"


def test_the_example_project_verifies_a_real_better_auth_eddsa_token(start_better_auth, tmp_path: Path):
    auth = start_better_auth(JWT_ALG="EdDSA")
    email = f"ann-{secrets.token_hex(4)}@example.com"
    user_id = auth.sign_up(email=email, password="correct-horse-battery-1", name="Ann")
    token = auth.sign_in(email=email, password="correct-horse-battery-1").token()
    port = free_port()
    python = os.environ.get("DRF_BETTER_AUTH_PYTHON", sys.executable)
    log = tmp_path / "example.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [python, str(EXAMPLE), "runserver", "--noreload", f"127.0.0.1:{port}"],
            env={"PATH": os.environ["PATH"], "BETTER_AUTH_URL": auth.url},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/me"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                status, headers, body = open_url(
                    direct_opener(), "GET", url, headers={"Authorization": f"Bearer {token}"}
                )
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        print(f"\nGET {url}\nAuthorization: Bearer {token[:24]}… (EdDSA, from {auth.url}/api/auth/token)")
        print(f"→ {status} {json.dumps(body)}")
        assert (status, body) == (200, {"id": user_id, "email": email}), log.read_text()

        header, payload, _ = token.split(".")
        status, headers, body = open_url(
            direct_opener(), "GET", url, headers={"Authorization": f"Bearer {header}.{payload}.AAAA"}
        )
        assert (status, body["code"]) == (401, "token_invalid")
        assert headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'
        status, _, _ = open_url(direct_opener(), "GET", url)
        assert status == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
