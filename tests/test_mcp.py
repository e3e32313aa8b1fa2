"""The MCP server (POST /mcp) as agents reach it: the official SDK's client against the Procfile's server, every
tool, errors as results, users kept apart, concurrent writes; and in process, the transport's edges (401 with the
resource metadata, JSON-RPC errors) and the tools' schemas following TaskSerializer."""

import json
import subprocess
import sys
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from prometheus_client import REGISTRY
from rest_framework import serializers
from rest_framework.test import APIClient

from tasks import mcp
from tasks.models import Task
from tasks.serializers import TaskSerializer
from tests.live import ROOT, call
from tests.mcp_client import ok, refusal, with_session

TOOLS = {"add_task", "list_tasks", "get_task", "update_task", "complete_task", "delete_task", "list_tags"}
METADATA = "http://testserver/.well-known/oauth-protected-resource/mcp"


# --- The SDK's client against the Procfile's server ---------------------------------------------------------------
def rest(base_url: str, token: str, path: str):
    return call(base_url, "GET", path, headers=[("Authorization", f"Bearer {token}")])


@pytest.mark.django_db(transaction=True)
def test_an_agent_uses_every_tool_and_rest_sees_its_writes(start_server, make_token):
    server = start_server()
    token = make_token(sub="agent-user")
    feed = rest(server.url, token, "/api/tasks/changes").json()

    async def session(session: ClientSession) -> dict[str, Any]:
        tools = (await session.list_tools()).tools
        seen = {"tools": {tool.name: tool for tool in tools}}
        seen["added"] = ok(await session.call_tool("add_task", {"title": " Buy milk ", "tags": ["Home", "home"]}))
        task_id = seen["added"]["id"]
        await session.call_tool("add_task", {"title": "Call mum", "priority": "high"})
        seen["got"] = ok(await session.call_tool("get_task", {"task_id": task_id}))
        seen["updated"] = ok(await session.call_tool("update_task", {"task_id": task_id, "description": "2 l"}))
        seen["completed"] = ok(await session.call_tool("complete_task", {"task_id": task_id}))
        seen["again"] = ok(await session.call_tool("complete_task", {"task_id": task_id}))
        seen["pending"] = ok(await session.call_tool("list_tasks", {"status": "pending"}))
        seen["limited"] = ok(await session.call_tool("list_tasks", {"limit": 1}))
        seen["by_tag"] = ok(await session.call_tool("list_tasks", {"tag": "HOME"}))
        seen["tags"] = ok(await session.call_tool("list_tags", {}))
        seen["bad_title"] = refusal(await session.call_tool("add_task", {"title": "x" * 101}))
        seen["bad_filter"] = refusal(await session.call_tool("list_tasks", {"priority": "urgent"}))
        seen["unknown"] = refusal(
            await session.call_tool("get_task", {"task_id": "00000000-0000-4000-8000-000000000000"})
        )
        seen["task"] = task_id
        return seen

    seen = with_session(server.url, token, session)
    assert set(seen["tools"]) == TOOLS
    assert all(tool.input_schema["type"] == tool.output_schema["type"] == "object" for tool in seen["tools"].values())
    added, task_id = seen["added"], seen["task"]
    assert (added["title"], added["tags"], added["version"]) == ("Buy milk", ["Home"], 1)
    assert added["user_id"] == "agent-user"
    assert seen["got"] == added
    assert (seen["updated"]["description"], seen["updated"]["version"]) == ("2 l", 2)
    assert (seen["completed"]["completed"], seen["completed"]["version"]) == (True, 3)
    assert seen["again"]["version"] == 3  # complete_task sets, it never flips
    assert [task["title"] for task in seen["pending"]["tasks"]] == ["Call mum"]
    assert (seen["limited"]["count"], len(seen["limited"]["tasks"])) == (2, 1)
    assert [task["id"] for task in seen["by_tag"]["tasks"]] == [task_id]
    assert seen["tags"] == {"tags": [{"name": "Home", "count": 1}]}
    assert seen["bad_title"]["detail"] == "title: Ensure this field has no more than 100 characters."
    assert seen["bad_filter"]["detail"] == "priority: Must be one of none, low, medium, high, not 'urgent'."
    assert seen["unknown"] == {"detail": "Not found."}

    # REST sees the tool's writes: the task, its version as the ETag, and the changes feed after its cursor.
    one = rest(server.url, token, f"/api/tasks/{task_id}")
    assert (one.headers["ETag"], one.json()["completed"]) == ('"3"', True)
    changes = rest(server.url, token, f"/api/tasks/changes?since={feed['cursor']}").json()
    assert {task["id"]: task["version"] for task in changes["changes"]}[task_id] == 3

    deleted = with_session(server.url, token, lambda session: session.call_tool("delete_task", {"task_id": task_id}))
    assert ok(deleted) == {"task_id": task_id, "status": "deleted", "title": "Buy milk"}
    changes = rest(server.url, token, f"/api/tasks/changes?since={feed['cursor']}").json()
    assert [gone["id"] for gone in changes["deleted"]] == [task_id]
    assert rest(server.url, token, f"/api/tasks/{task_id}").status == 404


@pytest.mark.django_db(transaction=True)
def test_users_are_kept_apart_and_concurrent_adds_each_make_one_task(start_server, make_token):
    server = start_server("--workers", "2")
    alice, bob = make_token(sub="mcp-alice"), make_token(sub="mcp-bob")

    async def twenty_adds(session: ClientSession) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []

        async def add(number: int) -> None:
            results.append(ok(await session.call_tool("add_task", {"title": f"Task {number}", "user_id": "mcp-bob"})))

        async with anyio.create_task_group() as group:
            for number in range(20):
                group.start_soon(add, number)
        return results

    added = with_session(server.url, alice, twenty_adds)
    assert len({task["id"] for task in added}) == 20
    assert {task["user_id"] for task in added} == {"mcp-alice"}  # a user_id argument is ignored
    assert rest(server.url, alice, "/api/tasks").json()["count"] == 20
    victim = added[0]["id"]

    async def bob_tries(session: ClientSession) -> dict[str, Any]:
        return {
            "list": ok(await session.call_tool("list_tasks", {})),
            "tags": ok(await session.call_tool("list_tags", {})),
            **{
                name: refusal(await session.call_tool(name, {"task_id": victim, **extra}))
                for name, extra in [
                    ("get_task", {}),
                    ("update_task", {"title": "Mine now"}),
                    ("complete_task", {}),
                    ("delete_task", {}),
                ]
            },
        }

    seen = with_session(server.url, bob, bob_tries)
    assert seen.pop("list") == {"count": 0, "tasks": []}
    assert seen.pop("tags") == {"tags": []}
    assert seen == dict.fromkeys(["get_task", "update_task", "complete_task", "delete_task"], {"detail": "Not found."})
    untouched = rest(server.url, alice, f"/api/tasks/{victim}").json()
    assert (untouched["title"], untouched["completed"], untouched["version"]) == (added[0]["title"], False, 1)


def test_docs_agents_shows_the_example_that_runs():
    assert (ROOT / "examples" / "mcp" / "agent.py").read_text() in (ROOT / "docs" / "agents.md").read_text()


@pytest.mark.django_db(transaction=True)
def test_the_documented_example_adds_and_completes_a_task(start_server, make_token):
    server = start_server()
    token = make_token(sub="example-user")
    example = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "mcp" / "agent.py"), "Water the plants"],
        env={"TODO_API_URL": server.url, "TODO_TOKEN": token, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert example.returncode == 0, example.stderr
    task = json.loads(example.stdout)
    assert (task["title"], task["priority"], task["completed"], task["version"]) == (
        "Water the plants",
        "high",
        True,
        2,
    )


# --- In process: the transport's edges ----------------------------------------------------------------------------


def rpc(client: APIClient, method: str, params: dict | None = None, *, path: str = "/mcp", version="2025-06-18"):
    body = {"jsonrpc": "2.0", "id": 7, "method": method, **({"params": params} if params is not None else {})}
    return client.post(path, body, format="json", HTTP_MCP_PROTOCOL_VERSION=version)


def tool_call(client: APIClient, name: str, arguments: dict) -> dict[str, Any]:
    response = rpc(client, "tools/call", {"name": name, "arguments": arguments})
    assert response.status_code == 200
    return response.json()["result"]


@pytest.mark.parametrize("path", ["/mcp", "/mcp/"])
@pytest.mark.parametrize(
    ("authorization", "code", "challenge"),
    [
        (None, "not_authenticated", f'Bearer realm="api", resource_metadata="{METADATA}"'),
        ("Bearer a.b.c", "token_invalid", f'Bearer realm="api", error="invalid_token", resource_metadata="{METADATA}"'),
    ],
)
@pytest.mark.django_db
def test_without_a_valid_token_it_is_the_rest_401_pointing_at_the_metadata(path, authorization, code, challenge):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = rpc(client, "tools/list", path=path)
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response["WWW-Authenticate"] == challenge


@pytest.mark.django_db
def test_the_protected_resource_metadata_names_better_auth(settings):
    settings.BETTER_AUTH_URL = "https://auth.example.com"
    settings.ALLOWED_HOSTS = ["api.example.com"]
    response = APIClient().get("/.well-known/oauth-protected-resource/mcp", HTTP_HOST="api.example.com")
    assert response.status_code == 200
    assert response.json() == {
        "resource": "http://api.example.com/mcp",
        "authorization_servers": ["https://auth.example.com"],
        "bearer_methods_supported": ["header"],
    }


@pytest.mark.django_db
def test_the_trailing_slash_is_served_not_redirected(alice):
    response = rpc(alice, "ping", path="/mcp/")
    assert (response.status_code, response.json()) == (200, {"jsonrpc": "2.0", "id": 7, "result": {}})


@pytest.mark.django_db
def test_initialize_answers_the_version_asked_or_the_latest_it_knows(alice):
    client_info = {"capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
    asked = rpc(alice, "initialize", {"protocolVersion": "2025-06-18", **client_info}).json()["result"]
    assert asked["protocolVersion"] == "2025-06-18"
    assert asked["capabilities"] == {"tools": {"listChanged": False}}
    unknown = rpc(alice, "initialize", {"protocolVersion": "2099-01-01", **client_info}).json()["result"]
    assert unknown["protocolVersion"] == "2025-11-25"


@pytest.mark.django_db
def test_notifications_are_accepted_with_no_body(alice):
    body = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    response = alice.post("/mcp", body, format="json")
    assert (response.status_code, response.content) == (202, b"")


@pytest.mark.parametrize(
    ("body", "status", "code", "request_id"),
    [
        (b'{"jsonrpc": "2.0", "id": 1, "method": ', 400, -32700, None),
        (b'{"jsonrpc": "1.0", "id": 3, "method": "ping"}', 400, -32600, 3),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', 400, -32600, None),
        (b'{"jsonrpc": "2.0", "id": 4, "method": "resources/list"}', 200, -32601, 4),
        (b'{"jsonrpc": "2.0", "id": 5, "method": "no/such/method"}', 200, -32601, 5),
        (b'{"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "drop_tables"}}', 200, -32602, 6),
        (b'{"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"arguments": {}}}', 200, -32602, 8),
    ],
    ids=["malformed-json", "not-json-rpc", "batch", "not-served", "unknown-method", "unknown-tool", "no-tool-name"],
)
@pytest.mark.django_db
def test_protocol_errors_are_json_rpc_errors(alice, body, status, code, request_id):
    response = alice.generic("POST", "/mcp", body, content_type="application/json")
    assert response.status_code == status
    answer = response.json()
    assert (answer["jsonrpc"], answer["id"], answer["error"]["code"]) == ("2.0", request_id, code)


@pytest.mark.django_db
def test_an_unsupported_protocol_version_is_400_naming_the_supported_ones(alice):
    response = rpc(alice, "tools/list", version="2024-01-01")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32022
    assert "2025-06-18" in error["data"]["supported"]


@pytest.mark.django_db
def test_get_is_405_there_is_no_stream(alice):
    assert alice.get("/mcp").status_code == 405


@pytest.mark.django_db
def test_a_refusal_is_the_rest_error_body_and_changes_nothing(alice, make_task):
    task = make_task(user_id="alice", title="Keep me")
    result = tool_call(alice, "update_task", {"task_id": str(task.id), "title": "", "due_at": "2026-12-01T09:00:00"})
    assert result["isError"] is True
    body = json.loads(result["content"][0]["text"])
    assert body["detail"] == "title: This field may not be blank."
    assert set(body["errors"]) == {"title", "due_at"}
    task.refresh_from_db()
    assert (task.title, task.due_at, task.version) == ("Keep me", None, 1)


@pytest.mark.django_db
def test_a_malformed_task_id_is_a_refusal_not_a_protocol_error(alice):
    result = tool_call(alice, "get_task", {"task_id": "not-a-uuid"})
    assert result["isError"] is True
    assert json.loads(result["content"][0]["text"])["detail"] == "task_id: Must be a valid UUID."


@pytest.mark.django_db
def test_add_task_takes_only_the_task_fields_a_client_may_write(alice):
    arguments = {"title": "t", "completed": True, "version": 9, "user_id": "bob", "id": "x", "colour": "red"}
    task = tool_call(alice, "add_task", arguments)["structuredContent"]
    assert (task["completed"], task["version"], task["user_id"]) == (False, 1, "alice")
    assert Task.objects.filter(user_id="bob").count() == 0


@pytest.mark.django_db
def test_list_tasks_caps_the_limit_and_counts_every_match(alice, make_task):
    for number in range(102):
        make_task(user_id="alice", title=f"Task {number}", completed=number % 2 == 0)
    every = tool_call(alice, "list_tasks", {"limit": 500})["structuredContent"]
    assert (every["count"], len(every["tasks"])) == (102, 100)
    default = tool_call(alice, "list_tasks", {"status": "completed"})["structuredContent"]
    assert (default["count"], len(default["tasks"])) == (51, 20)
    searched = tool_call(alice, "list_tasks", {"status": "completed", "search": "Task 1"})["structuredContent"]
    assert searched["count"] == len(searched["tasks"]) == 6  # Task 10, 12, 14, 16, 18 and 100


def schema_of(tools: list[dict], name: str, part: str) -> dict[str, Any]:
    return next(tool for tool in tools if tool["name"] == name)[part]


@pytest.fixture
def fresh_tool_schemas():
    """The tools' schemas are made once per process; these tests change the serializer they come from."""
    mcp.task_arguments.cache_clear()
    mcp.tool_declarations.cache_clear()
    yield
    mcp.task_arguments.cache_clear()
    mcp.tool_declarations.cache_clear()


@pytest.mark.django_db
def test_a_field_added_to_the_task_serializer_is_in_the_tools(alice, monkeypatch, fresh_tool_schemas):
    """One declaration per field: a field of TaskSerializer appears in the tools' schemas with no other edit."""
    monkeypatch.setitem(TaskSerializer._declared_fields, "mood", serializers.CharField(required=False))
    monkeypatch.setattr(TaskSerializer.Meta, "fields", [*TaskSerializer.Meta.fields, "mood"])
    tools = rpc(alice, "tools/list").json()["result"]["tools"]
    for name in ["add_task", "update_task"]:
        assert schema_of(tools, name, "inputSchema")["properties"]["mood"] == {"type": "string", "minLength": 1}
    for name in ["add_task", "get_task", "update_task", "complete_task"]:
        assert "mood" in schema_of(tools, name, "outputSchema")["properties"]
    assert "mood" in schema_of(tools, "list_tasks", "outputSchema")["properties"]["tasks"]["items"]["properties"]


@pytest.mark.django_db
def test_the_tool_schemas_are_the_rest_ones(alice, fresh_tool_schemas):
    tools = rpc(alice, "tools/list").json()["result"]["tools"]
    assert {tool["name"] for tool in tools} == TOOLS
    add = schema_of(tools, "add_task", "inputSchema")
    assert add["required"] == ["title"]
    writable = {"title", "description", "due_at", "priority", "tags", "recurrence", "time_zone", "repeat_from"}
    assert set(add["properties"]) == {*writable, "reminders"}
    assert add["properties"]["priority"]["enum"] == ["none", "low", "medium", "high"]
    assert schema_of(tools, "update_task", "inputSchema")["required"] == ["task_id"]
    assert set(schema_of(tools, "get_task", "outputSchema")["properties"]) == set(TaskSerializer.Meta.fields)


def tool_calls(tool: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("mcp_tool_calls_total", {"tool": tool, "outcome": outcome}) or 0


def requests(status: int) -> float:
    labels = {"method": "POST", "route": "/mcp", "status": str(status)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0


@pytest.mark.django_db
def test_tool_calls_are_counted_by_tool_and_outcome(alice):
    before = {outcome: tool_calls("add_task", outcome) for outcome in ("ok", "error")}
    requests_before = requests(200)
    tool_call(alice, "add_task", {"title": "counted"})
    tool_call(alice, "add_task", {"title": ""})
    tool_call(alice, "add_task", {"title": "counted too"})
    assert tool_calls("add_task", "ok") - before["ok"] == 2
    assert tool_calls("add_task", "error") - before["error"] == 1
    assert requests(200) - requests_before == 3
