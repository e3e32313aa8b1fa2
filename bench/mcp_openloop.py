"""The MCP tools and the REST routes they stand for, open-loop at half their capacity: issue #21's latency target
(p99 < 50 ms at 50 % capacity), on the server and data of bench/mcp_tools.py.

    bench/.venv/bin/python bench/mcp_openloop.py [--seconds 8] [--share 0.5]

For each kind (REST list of 20, MCP list_tasks, REST create, MCP add_task): its capacity first, as a closed loop
of 50 connections each sending its next request when the last answer is in, then the open-loop generator
(bench/openloop.py: latency from when each request was due) at `share` of that capacity. Creates are not deleted
again: their user grows by a few thousand tasks, which neither the list (its stored count, a page of 20) nor a create
notices. Prints JSON; BENCHMARKS.md ("MCP") has a run.
"""

import argparse
import asyncio
import json
import os
import sys
import time

import mcp_tools
import openloop

CONNECTIONS = 50


def kinds(port: int) -> dict[str, bytes]:
    """One request of each kind, as bytes for the generators."""
    token = mcp_tools.token()
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": mcp_tools.VERSION}

    def request(method: str, path: str, body: dict | None = None) -> bytes:
        raw = json.dumps(body).encode() if body is not None else b""
        return openloop.http_request(method, path, host="127.0.0.1", port=port, token=token, body=raw, headers=headers)

    def tool(name: str, arguments: dict) -> bytes:
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        return request("POST", "/mcp", call)

    return {
        "rest_list": request("GET", "/api/tasks?page_size=20"),
        "mcp_list_tasks": tool("list_tasks", {"limit": 20}),
        "rest_create": request("POST", "/api/tasks", {"title": "Buy milk", "tags": ["home"]}),
        "mcp_add_task": tool("add_task", {"title": "Buy milk", "tags": ["home"]}),
    }


async def capacity(port: int, request: bytes, seconds: float) -> float:
    """Answers per second of a closed loop of CONNECTIONS kept-alive connections."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        conn = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                status, _ = await openloop.exchange(conn, request)
                if not 200 <= status < 300:
                    raise RuntimeError(f"status {status}")
                done += 1
        finally:
            conn[1].close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONNECTIONS)))
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--share", type=float, default=0.5)
    args = parser.parse_args()
    server = mcp_tools.start()
    results = {}
    try:
        client = mcp_tools.Client(server.url)
        for number in range(20):
            assert client.send("POST", "/api/tasks", {"title": f"Task {number}", "tags": ["bench"]})[1] == 201
        for kind, request in kinds(server.port).items():
            asyncio.run(capacity(server.port, request, 2))  # warm-up
            rps = asyncio.run(capacity(server.port, request, args.seconds))
            rate = args.share * rps
            loop = openloop.measure(host="127.0.0.1", port=server.port, requests=[request], rate=rate, seconds=8)
            results[kind] = {"capacity_rps": round(rps), "rate": round(rate)} | {
                key: round(loop[key], 1) for key in ("p50_ms", "p99_ms", "max_ms", "lag_p99_ms")
            }
            results[kind]["errors"] = loop["errors"]
            print(kind, results[kind], file=sys.stderr, flush=True)
    finally:
        server.stop()
    json.dump({"share": args.share, "load_after": os.getloadavg()[0], **results}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
