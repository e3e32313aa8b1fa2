"""Quick alternating wrk rounds of some servers on the data the last `make bench` left in todo_benchmark (minutes, not
the full run), for measuring one change: run it before and after the change, and compare the ratios.

    bench/.venv/bin/python bench/ab.py [--servers project,ceiling] [--rounds 3] [--mode list] [--query '?page=2']
"""

import argparse
import statistics
import sys

import run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="project,ceiling", help="comma-separated; the first is compared")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", default="list")
    parser.add_argument("--query", default="")
    parser.add_argument("--big", action="store_true", help="use the 100k-task user")
    args = parser.parse_args()
    names = args.servers.split(",")

    with run.on_existing_data("ab", mode=args.mode, big=args.big) as bench:
        runs = run.alternating_rounds(
            bench.fleet, names, args.rounds, bench.ready_token, mode=args.mode, data=bench.data, query=args.query
        )
    for name in names[1:]:
        ratios = run.round_ratios(runs[names[0]], runs[name])
        rounds = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"{names[0]} / {name}: median {statistics.median(ratios):.2f} (rounds {rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
