"""An agent's side of the todo API's MCP server: add a task, then complete it, with the official MCP Python SDK.

    TODO_API_URL=https://api.example.com TODO_TOKEN=<Better Auth JWT> python agent.py "Buy milk"

TODO_TOKEN is the signed-in user's JWT from Better Auth (`GET /api/auth/token` with the session cookie, or
`authClient.token()` in the browser); it lasts 15 minutes by default. Needs `pip install mcp==2.3.0`.
"""

import asyncio
import json
import os
import sys

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(title: str) -> None:
    headers = {"Authorization": f"Bearer {os.environ['TODO_TOKEN']}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{os.environ['TODO_API_URL']}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        added = await session.call_tool("add_task", {"title": title, "priority": "high"})
        if added.is_error:
            sys.exit(added.content[0].text)  # the API's error body: {"detail": "title: ...", "errors": {...}}
        task = added.structured_content
        done = await session.call_tool("complete_task", {"task_id": task["id"]})
        print(json.dumps(done.structured_content, indent=2))


if __name__ == "__main__":
    asyncio.run(main(" ".join(sys.argv[1:]) or "Buy milk"))
