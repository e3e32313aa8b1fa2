#!/usr/bin/env bash
# One command for the whole benchmark: `make bench` (or `bash bench/run.sh`). Needs the local PostgreSQL
# (127.0.0.1:5432, user postgres, trust) and the peers in ../shared/peers beside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x .venv/bin/python ] || make venv
if [ ! -x bench/.venv/bin/python ] || [ bench/requirements.txt -nt bench/.venv/installed ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q -r bench/requirements.txt
  touch bench/.venv/installed
fi
exec bench/.venv/bin/python bench/run.py "$@"
