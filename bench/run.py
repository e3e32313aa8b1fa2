"""The benchmark: build the data set, start the project and its peers on 127.0.0.1, load them, write BENCHMARKS.md.

Run it through bench/run.sh (`make bench`), which checks for wrk and PostgreSQL and prepares the two virtualenvs.
Environment knobs: BENCH_SECONDS (per measurement, 8), BENCH_ROUNDS (alternating rounds of the list comparison, 3),
BENCH_WORKERS (gunicorn workers for every server, 4), BENCH_CONNECTIONS (100), BENCH_BASELINE (the commit whose
list page the project's is compared with, in the same rounds; empty to skip).
"""

import argparse
import io
import json
import os
import platform
import random
import re
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import tarfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cpu
import dataset
import jwt
import openloop
import report
import servers
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROJECT_PY = ROOT / ".venv" / "bin" / "python"
BENCH_BIN = BENCH / ".venv" / "bin"

SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WORKERS = os.environ.get("BENCH_WORKERS", "4")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "100"))
# The list page must stay within 10% of main before the fields, sync and account work (issue #12), in the same run.
BASELINE = os.environ.get("BENCH_BASELINE", "ba6919d")
# Open-loop latency targets are taken at this share of each scenario's closed-loop capacity.
LOAD_SHARE = 0.5
THREADS = 2  # wrk threads: one per core of the 2-core reference machine
WARMUP = 2
# Names of the benchmark's own, dropped and recreated on every run: never a database the tests or a developer use.
DB = os.environ.get("BENCH_DB", "todo_benchmark")
BASE_DB = f"{DB}_base"  # the baseline's own, migrated by its own code
ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DB}"
BASE_DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={BASE_DB}"
BASE_ROOT = BENCH / "results" / f"baseline-{BASELINE}"
# The port the servers under test connect to: bench/delayed_db.py's, to put a network between them and the database.
SERVER_PG_PORT = os.environ.get("BENCH_PG_PORT", "5432")
PEER_NAMES = ["ceiling", "fastapi-async", "fastapi-sync"]
# project: the Procfile's command as production runs it (gevent workers). project-sync: the same with sync workers,
# the worker model of the baseline's Procfile run with one thread, so that `vs baseline` compares code with code.
PROJECT_NAMES = ["project", "project-sync"]
BASELINE_NAME = "baseline"
PUT_BODY = b'{"title": "Updated by the benchmark", "description": "Full update.", "completed": false}'
CREATE_BODY = b'{"title": "Created by the benchmark", "description": "Bench."}'


class Keys:
    """The HS256 secret and the Ed25519 key published in the local JWKS, both made for this run only."""

    def __init__(self):
        self.secret = secrets.token_urlsafe(32)
        self.ed25519 = Ed25519PrivateKey.generate()
        self.kid = "bench-" + secrets.token_hex(4)

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.ed25519.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def token(self, user_id: str, *, alg: str, issuer: str) -> str:
        now = datetime.now(UTC)
        claims = {"sub": user_id, "email": f"{user_id[:8]}@example.com", "name": "Bench", "iat": now}
        claims["exp"] = now + timedelta(hours=2)
        if alg == "HS256":
            return jwt.encode(claims, self.secret, algorithm="HS256")
        # What Better Auth issues: header {alg, kid}, iss and aud set to its base URL.
        claims.update(iss=issuer, aud=issuer)
        return jwt.encode(claims, self.ed25519, algorithm="EdDSA", headers={"kid": self.kid})


def write_lines(path: Path, rows: list[tuple]) -> Path:
    path.write_text("".join(" ".join(row) + "\n" for row in rows))
    return path


@dataclass
class Bench:
    """What the tools that reuse the last run's data (profile.py, ab.py) run with: the servers, a request file for
    one mode over the 10k-task users (or the 100k one), a token that lists tasks, and a folder for results."""

    fleet: dict[str, servers.Server]
    data: Path
    ready_token: str
    out_dir: Path


@contextmanager
def on_existing_data(tool: str, *, mode: str, big: bool):
    """A Bench on the data the last run left in the database; every server and the JWKS stopped on the way out."""
    out_dir = BENCH / "results" / f"{tool}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    out_dir.mkdir(parents=True)
    keys = Keys()
    jwks_server, auth_url = servers.serve_jwks(keys.jwks())
    try:
        users, tasks = dataset.existing(DSN)
        chosen = users[-1:] if big else users[:-1]
        token = {user: keys.token(user, alg="HS256", issuer=auth_url) for user in users}
        if mode in ("list", "create"):
            rows = [(token[u], u) for u in chosen]
        else:
            rows = [(token[u], u, str(t)) for u, t in tasks if u in chosen]
        data = write_lines(out_dir / "data.txt", rows)
        yield Bench(make_servers(keys, auth_url, out_dir), data, token[chosen[0]], out_dir)
    finally:
        servers.stop_all()
        jwks_server.shutdown()


def project_env(keys: Keys, auth_url: str, *, db: str = DB) -> dict[str, str]:
    """Production settings, plain HTTP on 127.0.0.1, throttling out of the way."""
    return {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{SERVER_PG_PORT}/{db}",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BETTER_AUTH_SECRET": keys.secret,
        "BETTER_AUTH_URL": auth_url,
        "BETTER_AUTH_JWKS_URL": auth_url + "/api/auth/jwks",
        # High, and per second: DRF keeps one timestamp per request of the window, so a per-minute rate would make
        # the throttle's own bookkeeping (pickled to the cache on every request) the benchmark.
        "THROTTLE_USER_RATE": "1000000/s",
    }


def procfile_web_command(*extra: str, root: Path = ROOT) -> list[str]:
    """The Procfile's `web:` command of the checkout at `root`, as production runs it, with BENCH_WORKERS workers
    (and one thread where that Procfile still reads GUNICORN_THREADS), without its --bind, then `extra` arguments
    (gunicorn takes the last of a repeated option); the project's virtualenv runs it."""
    line = next(x for x in (root / "Procfile").read_text().splitlines() if x.startswith("web:"))
    env = {**os.environ, "WEB_CONCURRENCY": WORKERS, "GUNICORN_THREADS": "1"}
    argv = shlex.split(re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m[1], m[2]), line[len("web:") :]))
    del argv[argv.index("--bind") : argv.index("--bind") + 2]
    return [str(ROOT / ".venv" / "bin" / argv[0]), *argv[1:], *extra]


def make_servers(keys: Keys, auth_url: str, logs: Path) -> dict[str, servers.Server]:
    server_dsn = DSN.replace("port=5432", f"port={SERVER_PG_PORT}")
    peer_env = {
        "BETTER_AUTH_SECRET": keys.secret,
        "PG_DSN": server_dsn,
        "PAGE": "50",
        "PEER_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{SERVER_PG_PORT}/{DB}",
    }
    gunicorn = str(BENCH_BIN / "gunicorn")
    uvicorn = ["--worker-class", "uvicorn.workers.UvicornWorker"]
    specs = {
        "project": (procfile_web_command(), project_env(keys, auth_url), ROOT),
        "project-sync": (procfile_web_command("--worker-class", "sync"), project_env(keys, auth_url), ROOT),
        "ceiling": ([gunicorn, "ceiling:app", "--workers", WORKERS], peer_env, BENCH),
        "fastapi-async": (
            [gunicorn, "peer_fastapi:app", *uvicorn, "--workers", WORKERS],
            {**peer_env, "PEER_MODE": "async"},
            BENCH,
        ),
        "fastapi-sync": (
            [gunicorn, "peer_fastapi:app", *uvicorn, "--workers", WORKERS],
            {**peer_env, "PEER_MODE": "sync"},
            BENCH,
        ),
    }
    if (BASE_ROOT / "Procfile").exists():  # what baseline_checkout() made, on its own database
        base_env = project_env(keys, auth_url, db=BASE_DB)
        # Sync workers, as project-sync: what ba6919d's Procfile ran with one thread, and the same for a later commit.
        base_argv = procfile_web_command("--worker-class", "sync", root=BASE_ROOT)
        specs[BASELINE_NAME] = (base_argv, base_env, BASE_ROOT)
    return {
        name: servers.Server(name, argv, env=env, cwd=str(cwd), log_path=str(logs / f"{name}.log"))
        for name, (argv, env, cwd) in specs.items()
    }


@contextmanager
def running(server: servers.Server, ready_token: str):
    server.start(ready_path="/api/tasks", headers={"Authorization": f"Bearer {ready_token}"})
    try:
        yield server
    finally:
        server.stop()


def wrk(url: str, *, mode: str, data: Path, query: str = "", path: str = "/api/tasks", seconds: int = SECONDS) -> dict:
    """One wrk run; returns req/s, latency percentiles in ms and the error count."""
    env = {**os.environ, "BENCH_MODE": mode, "BENCH_DATA": str(data), "BENCH_QUERY": query, "BENCH_PATH": path}
    env["BENCH_THREADS"] = str(THREADS)
    argv = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
    out = subprocess.run(
        [*argv, "-s", str(BENCH / "api.lua"), url], env=env, capture_output=True, text=True, timeout=seconds + 60
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    raw = json.loads(line[len("BENCHJSON ") :])
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "requests": raw["requests"],
        "errors": raw["socket_errors"] + raw["status_errors"],
    }


def measure(server: servers.Server, label: str, *, warmup_data: Path | None = None, **kwargs) -> dict:
    """A warm-up run, then the measured one. Deletes warm up on their own ids, or the measured run would 404."""
    wrk(server.url, seconds=WARMUP, **{**kwargs, "data": warmup_data or kwargs["data"]})
    before = cpu.snapshot(server.process.pid)
    result = wrk(server.url, **kwargs)
    result.update(cpu.per_request(before, cpu.snapshot(server.process.pid), result["requests"]))
    print(
        f"  {label:<34} {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.1f}  p95 {result['p95_ms']:6.1f}"
        f"  p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}  CPU µs/request {report.cpu_cells(result)}",
        flush=True,
    )
    return result


def alternating_rounds(
    fleet: dict[str, servers.Server], names: list[str], rounds: int, ready_token: str, **wrk_kwargs
) -> dict[str, list[dict]]:
    """Each server measured once per round, one at a time, the order rotated from round to round."""
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            with running(fleet[name], ready_token) as server:
                runs[name].append(measure(server, f"round {round_no + 1} {name}", **wrk_kwargs))
    return runs


def round_ratios(mine: list[dict], theirs: list[dict]) -> list[float]:
    """req/s ratios round by round: servers of one round ran back to back, the least disturbed by the machine."""
    return [a["rps"] / b["rps"] if b["rps"] else float("nan") for a, b in zip(mine, theirs, strict=True)]


def median_of(runs: list[dict]) -> dict:
    keys = ["rps", "p50_ms", "p95_ms", "p99_ms", "max_ms", *cpu.KEYS]
    merged = {
        key: statistics.median(run[key] for run in runs)
        for key in keys
        if all(run.get(key) is not None for run in runs)
    }
    merged["errors"] = sum(run["errors"] for run in runs)
    merged["rounds"] = len(runs)
    return merged


def migrate(*, db: str = DB, root: Path = ROOT) -> None:
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}", "DJANGO_DEBUG": "true"}
    subprocess.run([str(PROJECT_PY), "manage.py", "migrate", "--no-input", "-v", "0"], cwd=root, env=env, check=True)


def baseline_checkout() -> bool:
    """The BENCH_BASELINE commit's files in bench/results/, from git; False when there is no such commit here."""
    if (BASE_ROOT / "Procfile").exists():
        return True
    archive = subprocess.run(["git", "archive", "--format=tar", BASELINE], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        print(f"  no baseline: git cannot find {BASELINE} ({archive.stderr.decode().strip()})", flush=True)
        return False
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(BASE_ROOT, filter="data")
    return True


def project_python(script: str, *args: str, env: dict[str, str]) -> dict:
    """Run a bench script with the project's own interpreter (it imports the project) and parse its JSON."""
    out = subprocess.run(
        [str(PROJECT_PY), str(BENCH / script), *args],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def machine() -> dict:
    processor = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    # BENCHMARKS.md is what a run writes: a checkout left with an earlier run's table is not different code.
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md"],
        cwd=ROOT,
        capture_output=True,
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": processor,
        "cores": os.cpu_count(),
        "commit": commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else ""),
        "load_start": os.getloadavg()[1],  # what else ran on the machine: the 5-minute load average
    }


def api_parameters() -> dict[tuple[str, str], set[str]]:
    """(METHOD, path) -> its parameter names (query and header), from this checkout's openapi.yaml: the scenarios
    of routes and filters that other changes add run only where the code has them."""
    schema = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return {
        (method.upper(), path): {parameter["name"] for parameter in operation.get("parameters", [])}
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }


def project_scenarios(files: dict[str, Path]) -> list[tuple[str, str, dict]]:
    """(key, label, wrk arguments) of every project scenario, reads first; the key is shared with queries.py."""
    api = api_parameters()
    search = f"?completed=false&search={dataset.SEARCH_WORD}"
    big = dict(mode="list", data=files["big"])
    reads = [
        ("list", "list page 1 (10k-task users)", dict(mode="list", data=files["hs"])),
        ("list-eddsa", "list page 1, EdDSA token", dict(mode="list", data=files["ed"])),
        ("page100", "list page 100 (100k-task user)", dict(big, query="?page=100")),
        ("filter", f"list {search[1:]}", dict(mode="list", data=files["hs"], query=search)),
    ]
    if {"tag", "priority", "overdue"} <= api[("GET", "/api/tasks")]:
        reads += [
            ("big", "list page 1 (100k-task user)", big),
            *(
                (f"tag{share}", f"list tag= on {share}% (100k-task user)", dict(big, query=f"?tag={tag}"))
                for share, tag in dataset.TAG_SHARES.items()
            ),
            ("priority", "list priority=high (100k-task user)", dict(big, query="?priority=high")),
            ("overdue", "list overdue=true (100k-task user)", dict(big, query="?overdue=true")),
            ("due", "list ordering=due_at (100k-task user)", dict(big, query="?ordering=due_at")),
        ]
    if ("GET", "/api/tasks/changes") in api:
        feed = dict(mode="list", data=files["hs"], path="/api/tasks/changes", query="?limit=100")
        reads.append(("changes", "changes feed, first page of 100", feed))
    reads.append(("get", "get one", dict(mode="get", data=files["read"])))
    writes = [
        ("put", "full update (PUT)", dict(mode="put", data=files["read"])),
        ("toggle", "toggle", dict(mode="toggle", data=files["read"])),
        ("create", "create", dict(mode="create", data=files["hs"])),
    ]
    if "Idempotency-Key" in api[("POST", "/api/tasks")]:
        writes.append(("create-key", "create with an Idempotency-Key", dict(mode="create-key", data=files["hs"])))
    writes.append(("delete", "delete", dict(mode="delete", data=files["delete"], warmup_data=files["delete-warmup"])))
    return reads + writes


def write_token_files(run_dir: Path, data: dataset.DataSet, keys: Keys, issuer: str) -> dict[str, Path]:
    """The files api.lua spreads requests over: "token user_id [task_id]" lines."""
    hs = {user: keys.token(user, alg="HS256", issuer=issuer) for user in [*data.users, data.big_user]}
    ed = {user: keys.token(user, alg="EdDSA", issuer=issuer) for user in data.users}
    return {
        "hs": write_lines(run_dir / "tokens-hs256.txt", [(hs[u], u) for u in data.users]),
        "ed": write_lines(run_dir / "tokens-eddsa.txt", [(ed[u], u) for u in data.users]),
        "big": write_lines(run_dir / "tokens-big.txt", [(hs[data.big_user], data.big_user)]),
        "read": write_lines(run_dir / "read.txt", [(hs[u], u, t) for u, t in data.read_pool]),
        "delete-warmup": write_lines(run_dir / "delete-warmup.txt", [(hs[u], u, t) for u, t in data.delete_pool[::4]]),
        "delete": write_lines(
            run_dir / "delete.txt", [(hs[u], u, t) for i, (u, t) in enumerate(data.delete_pool) if i % 4]
        ),
    }


def openloop_requests(
    *, mode: str, data: Path, port: int, count: int, query: str = "", path: str = "/api/tasks", **_
) -> list[bytes]:
    """`count` requests as api.lua makes them for a scenario, for the open-loop generator, in a shuffled order."""
    rng = random.Random(7)
    rows = [line.split() for line in data.read_text().splitlines()]

    def request(token: str, user: str, task: str = "") -> bytes:
        base = f"/api/{user}/tasks"
        method, target, body = {
            "list": ("GET", f"{path}{query}", b""),
            "get": ("GET", f"{base}/{task}", b""),
            "put": ("PUT", f"{base}/{task}", PUT_BODY),
            "toggle": ("PATCH", f"{base}/{task}/complete", b""),
            "create": ("POST", base, CREATE_BODY),
            "create-key": ("POST", base, CREATE_BODY),
        }[mode]
        # A new Idempotency-Key on every request: the cost of keeping a key, not of replaying one.
        headers = {"Idempotency-Key": f"bench-{rng.getrandbits(64):x}"} if mode == "create-key" else {}
        return openloop.http_request(
            method, target, host="127.0.0.1", port=port, token=token, body=body, headers=headers
        )

    return [request(*rng.choice(rows)) for _ in range(count)]


def open_loop(server: servers.Server, label: str, *, rate: float, requests: list[bytes]) -> dict:
    result = openloop.measure(host="127.0.0.1", port=server.port, requests=requests, rate=rate, seconds=SECONDS)
    print(
        f"  {'open loop ' + label:<44} {rate:6.0f} req/s  p50 {result['p50_ms']:6.1f}  p99 {result['p99_ms']:6.1f}"
        f"  max {result['max_ms']:6.1f} ms  generator lag p99 {result['lag_p99_ms']:.1f} ms"
        f" CPU {result['client_cpu_us']:.0f} µs/request"
        f"  errors {result['errors']} {result['error_kinds']}",
        flush=True,
    )
    return result


def project_runs(server: servers.Server, scenarios: list[tuple[str, str, dict]], results: dict) -> None:
    """Each scenario closed-loop (its capacity), then open-loop at LOAD_SHARE of that capacity (its latency)."""
    for key, label, kwargs in scenarios:
        closed = measure(server, label, **kwargs)
        results["scenarios"][key] = {"label": label, **closed}
        if kwargs["mode"] == "delete" or closed["rps"] < 1:  # every delete needs an id of its own, used up by now
            continue
        rate = LOAD_SHARE * closed["rps"]
        requests = openloop_requests(**kwargs, port=server.port, count=int(rate * SECONDS) + 1)
        results["openloop"][key] = {"label": label, **open_loop(server, label, rate=rate, requests=requests)}


def generator_check(server: servers.Server, results: dict) -> None:
    """The open-loop generator at the highest rate it was asked for, against /health (no database, no token): what
    it adds to every latency, and whether it keeps its schedule on this machine."""
    rate = max(r["rate"] for r in results["openloop"].values())
    requests = [b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"]
    results["generator"] = open_loop(server, "/health (generator check)", rate=rate, requests=requests)


def bench(names: list[str], run_dir: Path, results: dict) -> None:
    """Every measurement of one run, servers started one at a time (the peers' pools would hold 80 of
    PostgreSQL's 100 connections if they all stayed up)."""
    print(f"Database {DB}: recreate, migrate, load", flush=True)
    dataset.recreate_database(ADMIN_DSN, DB)
    migrate()
    data = dataset.load(DSN)
    if BASELINE and baseline_checkout():
        print(f"Database {BASE_DB} for the baseline {BASELINE}: recreate, migrate with its code, load", flush=True)
        dataset.recreate_database(ADMIN_DSN, BASE_DB)
        migrate(db=BASE_DB, root=BASE_ROOT)
        dataset.load(BASE_DSN)  # the same seed: the same users, tasks and ids
        names = [*names, BASELINE_NAME]
        results["baseline"] = BASELINE

    keys = Keys()
    jwks_server, auth_url = servers.serve_jwks(keys.jwks())
    files = write_token_files(run_dir, data, keys, auth_url)
    tokens = [line.split()[0] for line in files["hs"].read_text().splitlines()]
    fleet = make_servers(keys, auth_url, run_dir)
    scenarios = project_scenarios(files)
    try:
        print(f"List, first page: {ROUNDS} alternating rounds of {SECONDS} s, {CONNECTIONS} connections", flush=True)
        runs = alternating_rounds(fleet, names, ROUNDS, tokens[0], mode="list", data=files["hs"])
        results["list"] = {name: median_of(r) for name, r in runs.items()}
        results["list_rounds"] = runs
        for name, r in runs.items():
            if "ceiling" in runs:
                results["list"][name]["vs_ceiling"] = statistics.median(round_ratios(r, runs["ceiling"]))
            if BASELINE_NAME in runs:
                results["list"][name]["vs_baseline"] = statistics.median(round_ratios(r, runs[BASELINE_NAME]))

        if "project" in names:
            print(f"Project scenarios: closed loop, then open loop at {LOAD_SHARE:.0%} of the closed loop's req/s")
            with running(fleet["project"], tokens[0]) as server:
                project_runs(server, scenarios, results)
                generator_check(server, results)
            env = project_env(keys, auth_url)
            print("SQL queries per request", flush=True)
            results["queries"] = project_python("queries.py", str(run_dir), *(key for key, _, _ in scenarios), env=env)
            print(f"  {results['queries']}")
            print("JWT verification micro-benchmark", flush=True)
            results["jwt"] = project_python("jwt_verify.py", env=env)
            print(f"  {results['jwt']}")
    finally:
        servers.stop_all()
        jwks_server.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default=",".join(PROJECT_NAMES + PEER_NAMES), help="comma-separated subset")
    parser.add_argument("--no-write", action="store_true", help="print the results, leave BENCHMARKS.md alone")
    args = parser.parse_args()
    # The trap: a SIGTERM or SIGHUP unwinds through bench()'s `finally`, which stops every server.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))

    started = time.monotonic()
    run_dir = BENCH / "results" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_dir.mkdir(parents=True)
    config = {"seconds": SECONDS, "rounds": ROUNDS, "workers": WORKERS, "connections": CONNECTIONS}
    config["load_share"] = LOAD_SHARE
    results: dict = {"machine": machine(), "config": config, "list": {}, "scenarios": {}, "openloop": {}}
    bench(args.servers.split(","), run_dir, results)
    results["elapsed_s"] = time.monotonic() - started
    results["machine"]["load_end"] = os.getloadavg()[1]

    (run_dir / "results.json").write_text(json.dumps(results, indent=2))
    table = report.render(results)
    print(table)
    if not args.no_write:
        report.write(ROOT / "BENCHMARKS.md", table)
        print(f"BENCHMARKS.md updated; raw results in {run_dir.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
