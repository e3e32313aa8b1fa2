"""`make bench` stops at once, saying what is missing, when wrk or PostgreSQL is not there (bench/run.sh)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_sh(tmp_path: Path, *, tools: dict[str, str]) -> subprocess.CompletedProcess:
    """bench/run.sh with a PATH that holds bash, dirname and the given stand-in tools (name: shell body) only."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for real in ("bash", "dirname"):
        (bin_dir / real).symlink_to(shutil.which(real))
    for name, body in tools.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    # --help: were a check to let it through, bench/run.py would print its usage and exit, not run the benchmark.
    return subprocess.run(
        [str(bin_dir / "bash"), str(ROOT / "bench" / "run.sh"), "--help"],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_without_wrk_it_says_so_and_stops(tmp_path):
    result = run_sh(tmp_path, tools={"pg_isready": "exit 0"})
    assert result.returncode == 1
    assert "wrk is not installed" in result.stderr


@pytest.mark.parametrize("answer", ["exit 2", "exit 1"], ids=["no answer", "rejecting"])
def test_without_postgresql_it_says_so_and_stops(tmp_path, answer):
    result = run_sh(tmp_path, tools={"wrk": "exit 0", "pg_isready": answer})
    assert result.returncode == 1
    assert "PostgreSQL does not answer on 127.0.0.1:5432" in result.stderr
