"""CPU time spent per request, read from /proc around a measured run: where the machine's cores go.

Three parts, each the change of its cumulative user + system time over the run:
- the server under test: its gunicorn arbiter and workers (the process tree started by servers.Server);
- PostgreSQL: the postmaster and every process under it (backends, WAL writer, checkpointer, autovacuum), so
  that backends closing during the run are still counted (the postmaster collects their time);
- the load generator: wrk, the child this process waited for.
Only one server runs at a time, so PostgreSQL's time is the one server's. Linux only; None where /proc is absent.
"""

import os
import resource
from pathlib import Path

TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")
PARTS = ("server", "postgres", "client")
KEYS = tuple(f"cpu_{part}_us" for part in PARTS)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(command name, parent pid, user + system ticks of the process and of its waited-for children)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone meanwhile
        return None
    name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
    # Fields 4 (ppid) and 14-17 (utime, stime, cutime, cstime) of proc(5), counted from the state (field 3).
    return name, int(rest[1]), sum(int(value) for value in rest[11:15])


def _processes() -> dict[int, tuple[str, int, int]]:
    stats = {int(entry.name): _stat(int(entry.name)) for entry in Path("/proc").iterdir() if entry.name.isdigit()}
    return {pid: stat for pid, stat in stats.items() if stat is not None}


def _tree_ticks(processes: dict[int, tuple[str, int, int]], root: int) -> int:
    total, parents = 0, {root}
    while parents:
        total += sum(processes[pid][2] for pid in parents if pid in processes)
        parents = {pid for pid, (_, ppid, _) in processes.items() if ppid in parents}
    return total


def _postmaster(processes: dict[int, tuple[str, int, int]]) -> int | None:
    for pid, (name, ppid, _) in processes.items():
        if name == "postgres" and processes.get(ppid, ("",))[0] != "postgres":
            return pid
    return None


def snapshot(server_pid: int) -> dict[str, float | None]:
    """Cumulative CPU µs of the server's tree, of PostgreSQL's and of this process's waited-for children."""
    if not Path("/proc/self/stat").exists():
        return dict.fromkeys(PARTS)
    processes = _processes()
    postmaster = _postmaster(processes)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "server": _tree_ticks(processes, server_pid) * TICK_US,
        "postgres": None if postmaster is None else _tree_ticks(processes, postmaster) * TICK_US,
        "client": (children.ru_utime + children.ru_stime) * 1e6,
    }


def per_request(before: dict, after: dict, requests: int) -> dict[str, float | None]:
    """{"cpu_server_us": ..., "cpu_postgres_us": ..., "cpu_client_us": ...}: µs per request of the run."""
    return {
        key: None if None in (before[part], after[part]) or not requests else (after[part] - before[part]) / requests
        for part, key in zip(PARTS, KEYS, strict=True)
    }
