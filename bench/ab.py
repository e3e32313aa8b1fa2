"""Quick alternating wrk rounds of some servers on the data the last `make bench` left in todo_bench (minutes, not
the full run), for measuring one change: run it before and after the change, and compare the ratios.

    bench/.venv/bin/python bench/ab.py [--servers project,ceiling] [--rounds 3] [--mode list] [--query '?page=2']
"""

import argparse
import statistics
import sys
from datetime import UTC, datetime

import run
import servers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="project,ceiling", help="comma-separated; the first is compared")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", default="list")
    parser.add_argument("--query", default="")
    parser.add_argument("--big", action="store_true", help="use the 100k-task user")
    args = parser.parse_args()
    names = args.servers.split(",")

    out_dir = run.BENCH / "results" / ("ab-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S"))
    out_dir.mkdir(parents=True)
    keys = run.Keys()
    jwks_server, auth_url = servers.serve_jwks(keys.jwks())
    data, ready_token = run.existing_data_requests(out_dir, keys, auth_url, mode=args.mode, big=args.big)
    fleet = run.make_servers(keys, auth_url, out_dir)
    results: dict[str, list[dict]] = {name: [] for name in names}
    try:
        for round_no in range(args.rounds):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                with run.running(fleet[name], ready_token) as server:
                    label = f"round {round_no + 1} {name}"
                    results[name].append(run.measure(server, label, mode=args.mode, data=data, query=args.query))
    finally:
        servers.stop_all()
        jwks_server.shutdown()
    first = names[0]
    for name in names[1:]:
        ratios = [a["rps"] / b["rps"] for a, b in zip(results[first], results[name], strict=True)]
        rounds = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"{first} / {name}: median {statistics.median(ratios):.2f} (rounds {rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
