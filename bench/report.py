"""Turn one run's results into the Markdown block of BENCHMARKS.md (between the bench markers)."""

from pathlib import Path

import cpu

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
PEER_QUERIES = "2 (by code)"  # the peers run count + page; they are not instrumented


def ms(value: float) -> str:
    return f"{value:.1f}"


def row(*cells) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def cpu_cells(r: dict) -> str:
    """CPU µs per request: server / PostgreSQL / wrk (bench/cpu.py)."""
    parts = [r.get(key) for key in cpu.KEYS]
    return " / ".join("n/a" if value is None else f"{value:,.0f}" for value in parts)


def measured(label: str, r: dict, last: str) -> str:
    return row(
        label, f"{r['rps']:.0f}", ms(r["p50_ms"]), ms(r["p95_ms"]), ms(r["p99_ms"]), r["errors"], cpu_cells(r), last
    )


def render(results: dict) -> str:
    m, c = results["machine"], results["config"]
    lines = [
        f"Run of {m['date']} at commit `{m['commit']}`: {m['cores']} cores ({m['cpu']}), {c['workers']} gunicorn "
        f"workers per server, wrk with {c['connections']} connections, {c['seconds']} s per measurement after a "
        f"warm-up, {results['elapsed_s'] / 60:.1f} min in all. Load average (5 min) at the start "
        f"{m.get('load_start', float('nan')):.1f}, at the end {m.get('load_end', float('nan')):.1f}: above "
        f"{m['cores']} means other work shared the cores.",
        "",
        f"### List, first page of 50 (median of {c['rounds']} alternating rounds)",
        "",
        "`vs ceiling` is the median of each round's ratio (the two ran back to back within a round). "
        f"`CPU µs/request` is server / PostgreSQL / wrk (`bench/cpu.py`): at N req/s the {m['cores']} cores give "
        f"{m['cores'] * 1_000_000:,} / N µs per request in all.",
        "",
        "| server | req/s | p50 ms | p95 ms | p99 ms | errors | CPU µs/request | vs ceiling | vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results["list"].items():
        ratios = [f"{r[key]:.2f}" if key in r else "" for key in ("vs_ceiling", "vs_baseline")]
        lines.append(measured(name, r, " | ".join(ratios)))
    if "baseline" in results:
        lines += [
            "",
            f"`baseline` is commit `{results['baseline']}` (main before the fields, sync and account work) with its "
            "own code, migrations and database, loaded with the same data, run with sync workers as project-sync "
            "is; `vs baseline` is the median of each round's req/s ratio.",
        ]

    queries = results.get("queries", {})
    if results["scenarios"]:
        lines += [
            "",
            "### Project scenarios (one run each)",
            "",
            "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | CPU µs/request | SQL queries per request |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key, r in results["scenarios"].items():
            lines.append(measured(r["label"], r, queries.get(key, "")))

    if results["openloop"]:
        share = c["load_share"]
        lines += [
            "",
            f"### Open loop: each scenario at {share:.0%} of its closed-loop req/s, {c['seconds']} s (the latency "
            "target)",
            "",
            "Requests leave on a fixed schedule (`bench/openloop.py`); latency is counted from when each was due, so a "
            "stall shows in the tail instead of slowing the load (no coordinated omission). `lag p99` is how late the "
            "generator itself sent its requests.",
            "",
            "| scenario | req/s asked | sent | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | lag p99 ms | errors "
            "| generator CPU µs/request |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        rows = [(r["label"], r) for r in results["openloop"].values()]
        if "generator" in results:
            rows.append(("/health, no database (the generator's own cost)", results["generator"]))
        for label, r in rows:
            lines.append(
                row(
                    label,
                    f"{r['rate']:.0f}",
                    f"{r['achieved_rps']:.0f}",
                    *(ms(r[key]) for key in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "lag_p99_ms")),
                    r["errors"],
                    f"{r.get('client_cpu_us', float('nan')):.0f}",
                )
            )

    if "jwt" in results:
        lines += [
            "",
            "### JWT verification (`drf_better_auth.conf.verify`, keys cached, one process), µs per call",
            "",
            "| algorithm | token seen before | token seen first | PyJWT `decode` alone |",
            "|---|---:|---:|---:|",
        ]
        for alg, r in results["jwt"].items():
            lines.append(row(alg, f"{r['verify_us']:.1f}", f"{r['first_us']:.1f}", f"{r['pyjwt_us']:.1f}"))

    lines += ["", "### Targets", ""] + [f"- {check}" for check in checks(results)]
    return "\n".join(lines)


def checks(results: dict) -> list[str]:
    """Each target of issues #4 and #12, with the number that meets or misses it."""
    out = []

    def check(ok: bool, text: str) -> None:
        out.append(f"{'met' if ok else '**missed**'}: {text}")

    for r in results["openloop"].values():
        check(
            r["p99_ms"] < 50 and r["achieved_rps"] >= 0.95 * r["rate"],
            f"open loop p99 < 50 ms at {r['rate']:.0f} req/s: {r['label']} ({ms(r['p99_ms'])} ms)",
        )
    project_measured = [*results["scenarios"].values(), *results["openloop"].values()]
    if "project" in results["list"]:
        project_measured.append(results["list"]["project"])
    if project_measured:
        errors = sum(r["errors"] for r in project_measured)
        check(errors == 0, f"no errors ({errors})")
    # Code against code: project-sync runs the baseline's worker model (the project row adds the gevent workers).
    for name in ("project-sync", "project"):
        if "vs_baseline" in results["list"].get(name, {}):
            ratio = results["list"][name]["vs_baseline"]
            baseline = results["baseline"]
            check(ratio >= 0.9, f"{name} list within 10% of the baseline {baseline} (req/s ratio {ratio:.2f})")
            break
    lst = results["list"]
    if "vs_ceiling" in lst.get("project", {}):
        ratio = lst["project"]["vs_ceiling"]
        check(ratio >= 0.6, f"project list >= 0.6 of the ceiling ({ratio:.2f})")
    for peer in ("fastapi-async", "fastapi-sync"):
        if "vs_ceiling" in lst.get(peer, {}):
            ratio = lst["project"]["vs_ceiling"] / lst[peer]["vs_ceiling"]
            check(ratio >= 1.5, f"project list >= 1.5x the {peer} peer ({ratio:.2f})")
    sc = results["scenarios"]
    # (scenario, the one it is compared with, the most its closed-loop p50 may be of that one's)
    bounds = [("page100", "list", 1.5), ("create-key", "create", 1.5), ("changes", "list", 1.0)]
    bounds += [(key, "big", 3.0) for key in ("tag1", "priority", "overdue", "due")]
    for key, base, most in bounds:
        if key in sc and base in sc:
            ratio = sc[key]["p50_ms"] / sc[base]["p50_ms"]
            check(
                ratio <= most,
                f"{sc[key]['label']}: p50 at most {most}x {sc[base]['label']} (closed loop, ratio {ratio:.2f})",
            )
    for alg in ("HS256", "EdDSA"):
        if alg in results.get("jwt", {}):
            r = results["jwt"][alg]
            check(
                r["verify_us"] < 100,
                f"{alg} verify < 0.1 ms ({r['verify_us']:.1f} µs; first sight {r['first_us']:.0f})",
            )
    return out


def write(path: Path, block: str) -> None:
    """Replace the generated block of `path`, keeping everything written around it by hand."""
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")
