"""What the MCP protocol costs per tool call, without HTTP and without the database: the SDK's types used from a
synchronous view (what tasks/mcp.py does) against the SDK's own server (its stateless streamable HTTP ASGI app, JSON
responses), started per request with anyio.run as a WSGI worker would have to. The same tools/call, the same result.

    .venv/bin/python bench/mcp_protocol.py
"""

import json
import statistics
import time

import anyio
import mcp_types as types
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types import methods
from mcp_types.jsonrpc import JSONRPCResponse, jsonrpc_message_adapter

VERSION = "2025-06-18"
TASK = {
    "id": "7d2c0c4e-8a1b-4f7e-9d3a-1c2b3d4e5f60",
    "user_id": "u",
    "title": "milk",
    "description": None,
    "completed": False,
    "due_at": None,
    "priority": "none",
    "tags": [],
    "completed_at": None,
    "version": 1,
    "created_at": "2026-12-01T00:00:00Z",
    "updated_at": "2026-12-01T00:00:00Z",
}
CALL = {"name": "add_task", "arguments": {"title": "milk"}}
BODY = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": CALL}).encode()
HEADERS = [
    (b"content-type", b"application/json"),
    (b"accept", b"application/json, text/event-stream"),
    (b"mcp-protocol-version", VERSION.encode()),
    (b"host", b"127.0.0.1"),
]


def result() -> types.CallToolResult:
    text = types.TextContent(type="text", text=json.dumps(TASK))
    return types.CallToolResult(content=[text], structured_content=TASK)


def with_types(body: bytes) -> bytes:
    """Parse and check the message, build and check the result, as tasks/mcp.py does."""
    message = jsonrpc_message_adapter.validate_json(body, by_name=False)
    request = methods.parse_client_request(message.method, VERSION, message.params)
    assert request.params.name == "add_task"
    dumped = methods.serialize_server_result(
        "tools/call", VERSION, result().model_dump(by_alias=True, mode="json", exclude_none=True)
    )
    response = JSONRPCResponse(jsonrpc="2.0", id=message.id, result=dumped)
    return response.model_dump_json(by_alias=True, exclude_none=True).encode()


async def call_tool(ctx, params) -> types.CallToolResult:
    return result()


SERVER = Server("todo", on_call_tool=call_tool)


def with_sdk_server(body: bytes) -> bytes:
    """The SDK's stateless server, run for this one request (its session manager runs once per instance)."""

    async def main() -> bytes:
        manager = StreamableHTTPSessionManager(SERVER, json_response=True, stateless=True)
        sent, out = False, []

        async def receive():
            nonlocal sent
            if sent:
                await anyio.sleep_forever()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            out.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/mcp",
            "raw_path": b"/mcp",
            "query_string": b"",
            "headers": HEADERS,
            "scheme": "http",
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 1),
            "http_version": "1.1",
            "asgi": {"version": "3.0"},
            "root_path": "",
        }
        async with manager.run():
            await manager.handle_request(scope, receive, send)
        return b"".join(message.get("body", b"") for message in out if message["type"] == "http.response.body")

    return anyio.run(main)


def measure(answer, calls: int) -> dict[str, float]:
    answer(BODY)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        answer(BODY)
        times.append(time.perf_counter() - started)
    times.sort()
    return {"p50_ms": round(statistics.median(times) * 1e3, 3), "p99_ms": round(times[int(calls * 0.99)] * 1e3, 3)}


if __name__ == "__main__":
    assert json.loads(with_types(BODY))["result"] == json.loads(with_sdk_server(BODY))["result"]
    print(json.dumps({"types": measure(with_types, 5000), "sdk_server": measure(with_sdk_server, 500)}, indent=2))
