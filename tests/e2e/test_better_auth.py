"""End to end: a real Better Auth server issues the JWTs, the todo API under live_server verifies them."""

import base64
import json
import secrets
import subprocess
import time
from dataclasses import dataclass

import jwt
import pytest
from mcp import ClientSession

from tasks.models import Task, TaskCount
from tests.mcp_client import ok, refusal, with_session

from .harness import ALGORITHMS, E2E_DIR, NODE, BetterAuthServer, BrowserSession, TodoApi

PASSWORD = "correct-horse-battery-1"


@dataclass
class Person:
    id: str
    browser: BrowserSession
    token: str


def sign_up_and_in(auth: BetterAuthServer, name: str) -> Person:
    """Sign up, then sign in with a fresh browser and fetch the JWT, as the frontend does."""
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    user_id = auth.sign_up(email=email, password=PASSWORD, name=name.title())
    browser = auth.sign_in(email=email, password=PASSWORD)
    return Person(id=user_id, browser=browser, token=browser.token())


def with_kid(token: str, kid: str) -> str:
    """The same token under another `kid` (its signature no longer matters: no such key exists)."""
    header = jwt.get_unverified_header(token) | {"kid": kid}
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return ".".join([encoded, *token.split(".")[1:]])


def wait_until(deadline: float, check) -> bool:
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_task_session_with_real_better_auth_tokens(alg: str, start_better_auth, todo_api: TodoApi):
    auth = start_better_auth(JWT_ALG=alg)
    todo_api.trust(auth)
    ann, bob = sign_up_and_in(auth, "ann"), sign_up_and_in(auth, "bob")

    assert jwt.get_unverified_header(ann.token).keys() == {"alg", "kid"}
    assert jwt.get_unverified_header(ann.token)["alg"] == alg
    claims = jwt.decode(ann.token, options={"verify_signature": False})
    assert (claims["sub"], claims["iss"], claims["aud"]) == (ann.id, auth.url, auth.url)

    status, headers, milk = todo_api.call(
        "POST", f"/api/{ann.id}/tasks", ann.token, {"title": " Buy milk ", "description": "2 litres"}
    )
    assert status == 201, milk
    assert (milk["title"], milk["user_id"], milk["completed"]) == ("Buy milk", ann.id, False)
    assert headers["location"].endswith(f"/api/{ann.id}/tasks/{milk['id']}")
    status, _, report = todo_api.call("POST", "/api/tasks", ann.token, {"title": "Write report"})
    assert status == 201, report

    for path in (f"/api/{ann.id}/tasks", "/api/tasks"):
        status, _, page = todo_api.call("GET", path, ann.token)
        assert status == 200, page
        assert [task["id"] for task in page["results"]] == [report["id"], milk["id"]]
    status, _, got = todo_api.call("GET", f"/api/{ann.id}/tasks/{milk['id']}", ann.token)
    assert (status, got) == (200, milk)

    status, _, updated = todo_api.call("PUT", f"/api/{ann.id}/tasks/{milk['id']}", ann.token, {"title": "Oat milk"})
    assert (status, updated["title"], updated["description"]) == (200, "Oat milk", "2 litres")
    status, _, patched = todo_api.call("PATCH", f"/api/tasks/{milk['id']}", ann.token, {"description": "1 litre"})
    assert (status, patched["title"], patched["description"]) == (200, "Oat milk", "1 litre")
    status, _, toggled = todo_api.call("PATCH", f"/api/{ann.id}/tasks/{milk['id']}/complete", ann.token)
    assert (status, toggled["completed"]) == (200, True)
    status, _, toggled = todo_api.call("PATCH", f"/api/tasks/{milk['id']}/complete", ann.token)
    assert (status, toggled["completed"]) == (200, False)
    status, _, toggled = todo_api.call("PATCH", f"/api/tasks/{milk['id']}/complete", ann.token, {"completed": True})
    assert (status, toggled["completed"]) == (200, True)

    # Bob holds a valid token of his own: Ann's tasks and Ann's path do not exist for him.
    for method, path, body in [
        ("GET", f"/api/{ann.id}/tasks", None),
        ("POST", f"/api/{ann.id}/tasks", {"title": "Intruder"}),
        ("GET", f"/api/{ann.id}/tasks/{milk['id']}", None),
        ("GET", f"/api/tasks/{milk['id']}", None),
        ("PUT", f"/api/tasks/{milk['id']}", {"title": "Hijacked"}),
        ("PATCH", f"/api/{bob.id}/tasks/{milk['id']}/complete", None),
        ("DELETE", f"/api/tasks/{milk['id']}", None),
    ]:
        status, _, body_out = todo_api.call(method, path, bob.token, body)
        assert status == 404, (method, path, body_out)
        assert body_out == {"detail": "Not found."}
    status, _, page = todo_api.call("GET", "/api/tasks", bob.token)
    assert (status, page["count"]) == (200, 0)
    row = Task.objects.get(pk=milk["id"])
    assert (row.user_id, row.title, row.completed) == (ann.id, "Oat milk", True)
    assert not Task.objects.filter(user_id=bob.id).exists()

    # The JWT in the set-auth-jwt header of get-session is just as good.
    status, _, _ = todo_api.call("DELETE", f"/api/{ann.id}/tasks/{milk['id']}", ann.browser.session_jwt())
    assert status == 204
    status, _, _ = todo_api.call("GET", f"/api/tasks/{milk['id']}", ann.token)
    assert status == 404
    status, _, _ = todo_api.call("DELETE", f"/api/tasks/{report['id']}", ann.token)
    assert status == 204
    assert not Task.objects.filter(user_id=ann.id).exists()


@pytest.mark.parametrize(
    ("issuer", "audience", "expected"),
    [
        ("better-auth", "better-auth", 200),
        ("https://auth.other.example", "better-auth", 401),
        ("better-auth", "https://api.other.example", 401),
    ],
)
def test_issuer_and_audience_are_better_auths_base_url(
    issuer: str, audience: str, expected: int, start_better_auth, todo_api: TodoApi, settings
):
    auth = start_better_auth()
    todo_api.trust(auth)
    settings.BETTER_AUTH_ISSUER = auth.url if issuer == "better-auth" else issuer
    settings.BETTER_AUTH_AUDIENCE = [auth.url if audience == "better-auth" else audience]
    ann = sign_up_and_in(auth, "ann")

    status, _, body = todo_api.call("GET", "/api/tasks", ann.token)

    assert status == expected, body
    if expected == 401:
        assert body["code"] == "token_invalid"


def test_better_auth_tokens_verify_by_jwks_even_with_the_shared_secret_set(
    start_better_auth, todo_api: TodoApi, settings
):
    auth = start_better_auth()
    todo_api.trust(auth)
    settings.BETTER_AUTH_SECRET = auth.env["BETTER_AUTH_SECRET"]  # the common mistake: giving the API this secret
    ann = sign_up_and_in(auth, "ann")

    assert jwt.get_unverified_header(ann.token)["alg"] == "EdDSA"
    assert todo_api.call("GET", "/api/tasks", ann.token)[0] == 200
    assert auth.jwks_fetches() == 1


def test_rotated_key_is_accepted_without_restart(start_better_auth, todo_api: TodoApi, settings):
    settings.BETTER_AUTH_JWKS_COOLDOWN = 1
    auth = start_better_auth(JWKS_ROTATION_INTERVAL="2")
    todo_api.trust(auth)
    ann = sign_up_and_in(auth, "ann")
    assert todo_api.call("GET", "/api/tasks", ann.token)[0] == 200

    time.sleep(2.5)  # past Better Auth's rotation interval and the API's refresh cooldown
    rotated = ann.browser.token()

    old_kid, new_kid = (jwt.get_unverified_header(token)["kid"] for token in (ann.token, rotated))
    assert old_kid != new_kid
    assert todo_api.call("GET", "/api/tasks", rotated)[0] == 200
    # Better Auth keeps publishing the retired key for its grace period, so older tokens stay valid.
    assert todo_api.call("GET", "/api/tasks", ann.token)[0] == 200


def test_flood_of_unknown_kids_fetches_jwks_at_most_once_per_cooldown(start_better_auth, todo_api: TodoApi, settings):
    cooldown, flood_seconds = 1, 3
    settings.BETTER_AUTH_JWKS_COOLDOWN = cooldown
    auth = start_better_auth()
    todo_api.trust(auth)
    ann = sign_up_and_in(auth, "ann")
    assert todo_api.call("GET", "/api/tasks", ann.token)[0] == 200
    assert auth.jwks_fetches() == 1

    sent, started = 0, time.monotonic()
    while sent < 2000 and time.monotonic() - started < flood_seconds:
        status, headers, body = todo_api.call("GET", "/api/tasks", with_kid(ann.token, secrets.token_urlsafe(24)))
        assert (status, body["code"]) == (401, "token_invalid")
        assert headers["www-authenticate"].startswith("Bearer")
        sent += 1
    elapsed = time.monotonic() - started
    refreshes = auth.jwks_fetches() - 1

    assert sent >= 50, "not much of a flood"
    # Unknown kids do make the API look for new keys, but never more than once per cooldown.
    assert 1 <= refreshes <= elapsed / cooldown + 1, (sent, elapsed, refreshes)
    assert todo_api.call("GET", "/api/tasks", ann.token)[0] == 200


def test_better_auth_outage_keeps_cached_keys_and_recovers_without_restart(
    start_better_auth, todo_api: TodoApi, settings
):
    settings.BETTER_AUTH_JWKS_COOLDOWN = 1
    auth = start_better_auth(JWKS_ROTATION_INTERVAL="2")
    todo_api.trust(auth)
    ann = sign_up_and_in(auth, "ann")
    assert todo_api.call("GET", "/api/tasks", ann.token)[0] == 200
    time.sleep(2.5)
    unseen = ann.browser.token()  # signed with a new key the API has never fetched
    assert jwt.get_unverified_header(unseen)["kid"] != jwt.get_unverified_header(ann.token)["kid"]
    made_up = with_kid(ann.token, secrets.token_urlsafe(24))

    auth.stop()
    assert todo_api.call("GET", "/api/tasks", ann.token)[0] == 200
    for token in (unseen, made_up):
        status, headers, body = todo_api.call("GET", "/api/tasks", token)
        assert status == 503, body
        assert headers["content-type"].startswith("application/json")
        assert isinstance(body["detail"], str)

    auth.start()  # same port, same database, same keys
    deadline = time.monotonic() + settings.BETTER_AUTH_JWKS_COOLDOWN + 5
    assert wait_until(deadline, lambda: todo_api.call("GET", "/api/tasks", unseen)[0] == 200)
    assert todo_api.call("GET", "/api/tasks", ann.token)[0] == 200
    status, _, body = todo_api.call("GET", "/api/tasks", made_up)
    assert (status, body["code"]) == (401, "token_invalid")


def test_token_past_its_exp_is_401(start_better_auth, todo_api: TodoApi, settings):
    settings.BETTER_AUTH_LEEWAY = 0
    auth = start_better_auth(JWT_EXPIRATION="3s")
    todo_api.trust(auth)
    ann = sign_up_and_in(auth, "ann")
    claims = jwt.decode(ann.token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3
    assert todo_api.call("GET", "/api/tasks", ann.token)[0] == 200

    time.sleep(max(0.0, claims["exp"] - time.time()) + 1.1)
    status, headers, body = todo_api.call("GET", "/api/tasks", ann.token)

    assert (status, body["code"]) == (401, "token_expired")
    assert headers["www-authenticate"].startswith("Bearer")
    assert todo_api.call("GET", "/api/tasks", ann.browser.token())[0] == 200


def test_better_auth_session_token_as_bearer_is_refused_with_a_hint(start_better_auth, todo_api: TodoApi):
    auth = start_better_auth()
    todo_api.trust(auth)
    ann = sign_up_and_in(auth, "ann")

    status, _, body = todo_api.call("GET", "/api/tasks", ann.browser.session_token)

    assert (status, body["code"]) == (401, "token_invalid")
    assert "/api/auth/token" in body["detail"]


def test_readme_client_snippet_creates_and_lists_tasks(start_better_auth, todo_api: TodoApi):
    auth = start_better_auth()
    todo_api.trust(auth)
    email = f"frontend-{secrets.token_hex(4)}@example.com"

    finished = subprocess.run(
        [NODE, "frontend.mjs", auth.url, todo_api.url, email, PASSWORD],
        check=False,
        cwd=E2E_DIR,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert finished.returncode == 0, finished.stderr
    seen = json.loads(finished.stdout)
    assert seen["created"]["status"] == 201
    assert seen["created"]["body"]["user_id"] == seen["userId"]
    assert seen["listed"]["status"] == 200
    assert [task["title"] for task in seen["listed"]["body"]["results"]] == ["Buy milk"]


def test_deleting_the_better_auth_account_erases_the_users_data_in_the_api(start_better_auth, todo_api: TodoApi):
    auth = start_better_auth(API_URL=todo_api.url)
    todo_api.trust(auth)
    ann, bob = sign_up_and_in(auth, "ann"), sign_up_and_in(auth, "bob")
    titles = ["Buy milk", "Write report", "Call the bank"]
    for title in titles:
        assert todo_api.call("POST", "/api/tasks", ann.token, {"title": title})[0] == 201
    status, _, bobs = todo_api.call("POST", f"/api/{bob.id}/tasks", bob.token, {"title": "Bob's own"})
    assert status == 201

    # Ann takes her tasks along first.
    status, headers, document = todo_api.call("GET", f"/api/{ann.id}/account/export", ann.token)
    assert status == 200, document
    assert headers["content-disposition"] == 'attachment; filename="tasks-export.json"'
    assert document["user_id"] == ann.id
    assert sorted(task["title"] for task in document["tasks"]) == sorted(titles)

    # Then she deletes her account in Better Auth, whose beforeDelete hook asks the API to erase her data.
    status, _, body = ann.browser.call("POST", "/api/auth/delete-user", body={})
    assert (status, body) == (200, {"success": True, "message": "User deleted"})

    assert not Task.objects.filter(user_id=ann.id).exists()
    assert not TaskCount.objects.filter(user_id=ann.id).exists()
    # Her last JWT has not expired yet, but there is nothing behind it any more.
    status, _, page = todo_api.call("GET", "/api/tasks", ann.token)
    assert (status, page["count"], page["results"]) == (200, 0, [])
    status, _, _ = ann.browser.call("GET", "/api/auth/token")
    assert status == 401  # Better Auth no longer knows her session
    status, _, page = todo_api.call("GET", "/api/tasks", bob.token)
    assert [task["id"] for task in page["results"]] == [bobs["id"]]
    assert TaskCount.objects.get(user_id=bob.id).total == 1


def test_account_is_kept_when_the_api_does_not_erase_the_data(start_better_auth, todo_api: TodoApi, settings):
    auth = start_better_auth(API_URL=todo_api.url)
    todo_api.trust(auth)
    ann = sign_up_and_in(auth, "ann")
    assert todo_api.call("POST", "/api/tasks", ann.token, {"title": "Buy milk"})[0] == 201
    settings.ACCOUNT_DELETE_MAX_TOKEN_AGE = -60  # every token is too old: the API answers 401 token_not_fresh

    status, _, body = ann.browser.call("POST", "/api/auth/delete-user", body={})

    assert status == 502, body
    assert "did not erase" in body["message"]
    assert Task.objects.filter(user_id=ann.id).count() == 1
    assert ann.browser.token()  # the account and its session are still there


def test_an_agent_uses_the_mcp_server_with_a_real_better_auth_token(start_better_auth, todo_api: TodoApi):
    """The SDK's MCP client with the EdDSA JWT of /api/auth/token: the tools see that user's tasks and no other's."""
    auth = start_better_auth(JWT_ALG="EdDSA")
    todo_api.trust(auth)
    ann, bob = sign_up_and_in(auth, "ann"), sign_up_and_in(auth, "bob")

    async def add_and_complete(session: ClientSession) -> dict:
        added = ok(await session.call_tool("add_task", {"title": "Book dentist", "user_id": bob.id}))
        return ok(await session.call_tool("complete_task", {"task_id": added["id"]}))

    done = with_session(todo_api.url, ann.token, add_and_complete)
    assert (done["user_id"], done["completed"], done["version"]) == (ann.id, True, 2)
    status, headers, task = todo_api.call("GET", f"/api/tasks/{done['id']}", ann.token)
    assert (status, headers["etag"], task) == (200, '"2"', done)

    async def look(session: ClientSession) -> tuple[dict, dict]:
        listed = ok(await session.call_tool("list_tasks", {}))
        return listed, refusal(await session.call_tool("get_task", {"task_id": done["id"]}))

    assert with_session(todo_api.url, bob.token, look) == ({"count": 0, "tasks": []}, {"detail": "Not found."})
