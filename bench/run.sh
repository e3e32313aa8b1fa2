#!/usr/bin/env bash
# One command for the whole benchmark: `make bench` (or `bash bench/run.sh`). Needs wrk and the local PostgreSQL
# (127.0.0.1:5432, user postgres, trust); everything else is in the repository (bench/) or installed into bench/.venv.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "make bench: $*" >&2; exit 1; }

command -v wrk >/dev/null || fail "wrk is not installed (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)."
if command -v pg_isready >/dev/null; then
  pg_isready -q -h 127.0.0.1 -p 5432 -t 3 \
    || fail "PostgreSQL does not answer on 127.0.0.1:5432 (the bench needs it there, user postgres, trust)."
else
  (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null \
    || fail "PostgreSQL does not answer on 127.0.0.1:5432 (the bench needs it there, user postgres, trust)."
fi

[ -x .venv/bin/python ] || make venv
if [ ! -x bench/.venv/bin/python ] || [ bench/requirements.txt -nt bench/.venv/installed ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q -r bench/requirements.txt
  touch bench/.venv/installed
fi
bench/.venv/bin/python -c "import psycopg2; psycopg2.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres')" \
  2>/dev/null || fail "PostgreSQL on 127.0.0.1:5432 refuses user postgres without a password (the bench needs trust)."
exec bench/.venv/bin/python bench/run.py "$@"
