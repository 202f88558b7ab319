#!/usr/bin/env bash
# `make bench`: the benchmark database (created, migrated and generated once; again with BENCH_REGENERATE=1), wrk
# if it can be installed, then the scenarios of tests/perf on that database. See docs/performance.md.
#   tests/perf/bench.sh [--compare] [-- pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/liaison_bench}"

compare="${BENCH_COMPARE:-0}"
pytest_args=()
for arg in "$@"; do
  case "$arg" in
    --compare) compare=1 ;;
    --) ;;
    *) pytest_args+=("$arg") ;;
  esac
done

read -r host port user name < <("$PY" - "$URL" <<'PYTHON'
import sys
from urllib.parse import urlsplit
url = urlsplit(sys.argv[1])
print(url.hostname or "127.0.0.1", url.port or 5432, url.username or "postgres", url.path.lstrip("/"))
PYTHON
)
case "$name" in
  *bench*) ;;
  *) echo "bench: the database name must contain 'bench' (it is generated, flushed and regenerated): $name" >&2
     exit 2 ;;
esac
if ! pg_isready -q -h "$host" -p "$port"; then
  echo "bench: PostgreSQL does not answer on $host:$port" >&2
  exit 2
fi

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing wrk"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1; } \
      || echo "bench: wrk could not be installed; the HTTP scenarios use a Python load generator"
  else
    echo "bench: wrk is not installed; the HTTP scenarios use a Python load generator"
  fi
fi

manage() { DATABASE_URL="$URL" DEBUG=true "$PY" manage.py "$@"; }
if ! psql -h "$host" -p "$port" -U "$user" -lqt | cut -d'|' -f1 | tr -d ' ' | grep -qx "$name"; then
  echo "bench: creating the database $name"
  createdb -h "$host" -p "$port" -U "$user" "$name"
fi
filled="$(manage shell -c 'from cases.load_data import already_generated; print(int(already_generated()))' 2>/dev/null \
  | tail -n1 || true)"
if [ "${BENCH_REGENERATE:-0}" = 1 ] || [ "$filled" != 1 ]; then
  echo "bench: generating the benchmark data into $name (several minutes at full scale)"
  manage generate_load_data --flush ${BENCH_SCALE:+--scale "$BENCH_SCALE"} ${BENCH_SEED:+--seed "$BENCH_SEED"}
else
  manage migrate --noinput
fi
# The figures' summary (stats/summary.py): every row after generating, what changed since otherwise.
if [ "${BENCH_REGENERATE:-0}" = 1 ] || [ "$filled" != 1 ]; then
  manage refresh_figures --full
  psql -q -h "$host" -p "$port" -U "$user" -d "$name" -c "VACUUM (ANALYZE) stats_casefigures"
else
  manage refresh_figures
  # What autovacuum does in production between deploys (it may be off on a test server): migrations that rewrite
  # rows leave the visibility map stale, and index-only scans would then read the heap.
  psql -q -h "$host" -p "$port" -U "$user" -d "$name" -c "VACUUM (ANALYZE)"
fi

LIAISON_BENCH=1 BENCH_COMPARE="$compare" DATABASE_URL="$URL" \
  .venv/bin/pytest tests/perf -o addopts="" -p no:cacheprovider -q -s -rs "${pytest_args[@]}"
