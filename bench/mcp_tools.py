"""The MCP tools against the REST routes they stand for, on one server in the same run: `list_tasks` (20 tasks)
beside `GET /api/tasks?page_size=20`, and `add_task` beside `POST /api/tasks`.

    .venv/bin/python bench/mcp_tools.py [--rounds 500]        (the project's interpreter; about a minute)

Data: its own PostgreSQL database (todo_mcp_bench, dropped and made again), one user with 20 tasks (every add is
deleted again, so the list stays 20). Server: the Procfile's command (gunicorn, the gevent worker of
gunicorn.conf.py, 2 workers) with production settings. One client on a kept-alive connection sends the four requests
in turn, round after round, so each kind meets the same machine state; a request's time is from send to the last
byte read. Prints JSON (p50, p90, p99 in ms per kind, and MCP/REST at p50); BENCHMARKS.md ("MCP") has a run.
"""

import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import dataset
import jwt
import servers

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "bench" / "results" / "mcp-gunicorn.log"
DB = "todo_mcp_bench"
ADMIN_DSN = "dbname=postgres user=postgres host=127.0.0.1 port=5432"
SECRET = secrets.token_urlsafe(32)
USER = "mcp-bench-user"
VERSION = "2025-06-18"


def token() -> str:
    now = int(time.time())
    return jwt.encode({"sub": USER, "iat": now, "exp": now + 3600}, SECRET, algorithm="HS256")


def start() -> servers.Server:
    dataset.recreate_database(ADMIN_DSN, DB)
    env = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "BETTER_AUTH_SECRET": SECRET,
        "THROTTLE_USER_RATE": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env={**os.environ, **env})
    LOG.parent.mkdir(exist_ok=True)
    gunicorn = [str(ROOT / ".venv" / "bin" / "gunicorn"), "todo_project.wsgi", "--workers", "2"]
    server = servers.Server("api", gunicorn, env=env, cwd=str(ROOT), log_path=str(LOG))
    server.start(ready_path="/health", headers={})
    return server


class Client:
    def __init__(self, url: str) -> None:
        self.connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
        self.headers = {"Authorization": f"Bearer {token()}", "Content-Type": "application/json"}

    def send(self, method: str, path: str, body: dict | None = None) -> tuple[float, int, dict | None]:
        started = time.perf_counter()
        headers = {**self.headers, "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": VERSION}
        self.connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        seconds = time.perf_counter() - started
        return seconds, response.status, json.loads(raw) if raw else None

    def tool(self, name: str, arguments: dict) -> tuple[float, dict]:
        message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        seconds, status, answer = self.send("POST", "/mcp", message)
        assert status == 200, answer
        assert not answer["result"]["isError"], answer
        return seconds, answer["result"]["structuredContent"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=500)
    rounds = parser.parse_args().rounds
    server = start()
    try:
        client = Client(server.url)
        for number in range(20):
            assert client.send("POST", "/api/tasks", {"title": f"Task {number}", "tags": ["bench"]})[1] == 201
        times: dict[str, list[float]] = {"rest_list": [], "mcp_list_tasks": [], "rest_create": [], "mcp_add_task": []}
        for _ in range(rounds + 20):  # the first 20 rounds warm the workers up and are not counted
            seconds, status, page = client.send("GET", "/api/tasks?page_size=20")
            assert status == 200
            assert len(page["results"]) == 20
            times["rest_list"].append(seconds)
            seconds, listed = client.tool("list_tasks", {"limit": 20})
            assert len(listed["tasks"]) == 20
            times["mcp_list_tasks"].append(seconds)
            seconds, status, created = client.send("POST", "/api/tasks", {"title": "Buy milk", "tags": ["home"]})
            assert status == 201
            times["rest_create"].append(seconds)
            seconds, added = client.tool("add_task", {"title": "Buy milk", "tags": ["home"]})
            times["mcp_add_task"].append(seconds)
            for task_id in (created["id"], added["id"]):
                assert client.send("DELETE", f"/api/tasks/{task_id}")[1] == 204
    finally:
        server.stop()
    summary = {}
    for kind, samples in times.items():
        counted = sorted(samples[20:])
        summary[kind] = {
            "p50_ms": round(statistics.median(counted) * 1000, 2),
            "p90_ms": round(counted[int(len(counted) * 0.9)] * 1000, 2),
            "p99_ms": round(counted[int(len(counted) * 0.99)] * 1000, 2),
        }
    for mcp_kind, rest_kind in [("mcp_list_tasks", "rest_list"), ("mcp_add_task", "rest_create")]:
        summary[mcp_kind]["p50_vs_rest"] = round(summary[mcp_kind]["p50_ms"] / summary[rest_kind]["p50_ms"], 2)
    json.dump({"rounds": rounds, "load_after": os.getloadavg()[0], **summary}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
