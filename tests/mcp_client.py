"""The official MCP SDK's client, as an agent runs it, for tests against a running API (tests/test_mcp.py, e2e)."""

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


def with_session(base_url: str, token: str, use: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    """`use(session)` on an initialized session of the SDK's streamable HTTP client, as an agent opens one."""

    async def run() -> Any:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
            streamable_http_client(f"{base_url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            initialized = await session.initialize()
            assert initialized.protocol_version in {"2025-06-18", "2025-11-25"}
            assert initialized.capabilities.tools is not None
            return await use(session)

    return anyio.run(run)


def ok(result) -> dict[str, Any]:
    """A successful tool result's structured content, after checking it is also its one text block."""
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def refusal(result) -> dict[str, Any]:
    """A refused tool call's REST error body (`detail`, and `errors` for a 422)."""
    assert result.is_error
    assert result.structured_content is None
    return json.loads(result.content[0].text)
