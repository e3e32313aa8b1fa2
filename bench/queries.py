"""SQL queries per request for each project scenario, counted in-process against the benchmark database.

Run with the project's interpreter and the server's environment; arguments: the run's folder (token files), then the
keys of the scenarios to count (run.py's, those this checkout has).
Each request is made once to warm up, then counted, so a connection's set-up queries are not included.
Prints JSON: {scenario key: queries}.
"""

import json
import os
import sys
from pathlib import Path

import django


def main() -> None:
    run_dir = Path(sys.argv[1])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    def lines(name: str) -> list[list[str]]:
        return [line.split() for line in (run_dir / name).read_text().splitlines()]

    hs, ed, big, read = lines("tokens-hs256.txt"), lines("tokens-eddsa.txt"), lines("tokens-big.txt"), lines("read.txt")
    client = APIClient(HTTP_HOST="127.0.0.1")

    def count(token: str, method: str, path: str, expect: int, **kwargs) -> int | str:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method)(path, **kwargs)
        return len(queries) if response.status_code == expect else f"status {response.status_code}"

    put = {"title": "Counted", "description": "Full update.", "completed": False}
    tag = "?tag=errand"
    results = {}
    requests = {
        "list": (hs[0][0], "get", "/api/tasks", 200, {}),
        "list-eddsa": (ed[0][0], "get", "/api/tasks", 200, {}),
        "page100": (big[0][0], "get", "/api/tasks?page=100", 200, {}),
        "filter": (hs[0][0], "get", "/api/tasks?completed=false&search=invoice", 200, {}),
        "big": (big[0][0], "get", "/api/tasks", 200, {}),
        "tag1": (big[0][0], "get", f"/api/tasks{tag}", 200, {}),
        "priority": (big[0][0], "get", "/api/tasks?priority=high", 200, {}),
        "overdue": (big[0][0], "get", "/api/tasks?overdue=true", 200, {}),
        "due": (big[0][0], "get", "/api/tasks?ordering=due_at", 200, {}),
        "changes": (hs[0][0], "get", "/api/tasks/changes?limit=100", 200, {}),
        "get": (read[0][0], "get", f"/api/{read[0][1]}/tasks/{read[0][2]}", 200, {}),
        "put": (read[0][0], "put", f"/api/{read[0][1]}/tasks/{read[0][2]}", 200, {"data": put, "format": "json"}),
        "toggle": (read[0][0], "patch", f"/api/{read[0][1]}/tasks/{read[0][2]}/complete", 200, {}),
        "create": (hs[0][0], "post", f"/api/{hs[0][1]}/tasks", 201, {"data": {"title": "Counted"}, "format": "json"}),
    }
    wanted = set(sys.argv[2:])
    for key, (token, method, path, expect, kwargs) in requests.items():
        if key not in wanted:
            continue
        count(token, method, path, expect, **kwargs)
        results[key] = count(token, method, path, expect, **kwargs)
    if "create-key" in wanted:  # a new key each time: the first request with a key is the one that costs
        for n in range(2):
            headers = {"HTTP_IDEMPOTENCY_KEY": f"queries-{os.getpid()}-{n}"}
            results["create-key"] = count(
                hs[0][0], "post", f"/api/{hs[0][1]}/tasks", 201, data={"title": "Counted"}, format="json", **headers
            )
    for row in read[-2:]:  # delete twice: the second, counted, removes another task
        results["delete"] = count(row[0], "delete", f"/api/{row[1]}/tasks/{row[2]}", 204)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
