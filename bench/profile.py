"""Profile one server under wrk load with py-spy, on the data the last `make bench` left in todo_benchmark.

    bench/.venv/bin/python bench/profile.py [--server project] [--mode list] [--query '?page=100'] [--gil]

Prints the functions with the most samples (self and inclusive, worker processes only) and keeps py-spy's raw
collapsed stacks in bench/results/ for a flame graph.
"""

import argparse
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import run


def hot_spots(raw: Path, top: int) -> str:
    """Self and inclusive sample shares per frame, from py-spy's collapsed stacks."""
    own, inclusive, total = Counter(), Counter(), 0
    for line in raw.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not any("handle_request" in f or "run_asgi" in f for f in frames):
            continue  # the arbiter and idle accept loops
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    out = [f"{total} samples in request handling", "", "self:"]
    out += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    out += ["", "inclusive:"]
    out += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top * 2)]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="project", choices=[*run.PROJECT_NAMES, *run.PEER_NAMES, run.BASELINE_NAME])
    parser.add_argument("--mode", default="list")
    parser.add_argument("--query", default="")
    parser.add_argument("--big", action="store_true", help="use the 100k-task user")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL (CPU spent in Python)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    with run.on_existing_data("profile", mode=args.mode, big=args.big) as bench:
        server, data, raw = bench.fleet[args.server], bench.data, bench.out_dir / "stacks.txt"
        with run.running(server, bench.ready_token):
            run.wrk(server.url, mode=args.mode, data=data, query=args.query, seconds=run.WARMUP)
            spy = [str(run.BENCH_BIN / "py-spy"), "record", "--subprocesses", "--format", "raw", "--output", str(raw)]
            spy += ["--duration", str(args.seconds), "--pid", str(server.process.pid)] + (["--gil"] if args.gil else [])
            profiler = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            result = run.wrk(server.url, mode=args.mode, data=data, query=args.query, seconds=args.seconds)
            profiler.wait(timeout=60)
    summary = hot_spots(raw, args.top)
    (bench.out_dir / "summary.txt").write_text(summary)
    print(
        f"{args.server} {args.mode}{args.query}: {result['rps']:.0f} req/s under py-spy, p95 {result['p95_ms']:.1f} ms"
    )
    print(summary)
    print(f"\nraw stacks: {raw.relative_to(run.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
