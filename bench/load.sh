#!/usr/bin/env bash
# Load benchmark: the portal under gunicorn (2 workers) on PostgreSQL at scale 10, driven on loopback by
# bench/loadgen.py (16 users, 30 s: the main pages, each followed by the header's task count that htmx loads,
# uploads by the DCC, signed ballots by Panel members), then the
# bare Flask page (bench/pages.py BARE) under the same gunicorn and the same load. Bounded: 30 s and 200,000
# requests per run, 127.0.0.1 only.
#
#   bench/load.sh [SCALE] [SECONDS] [USERS]        (defaults 10 30 16)
#   SKIP_PAGE="release audit" bench/load.sh        (the same without one page kind in the reads)
#
# Needs the local PostgreSQL 15 cluster (started here if it is not running) and a superuser role `portal`.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-10}
SECONDS_=${2:-30}
USERS=${3:-16}
PY=.venv/bin/python
WORK=${LOAD_WORKDIR:-/tmp/portal-load}
DB=portal_bench_load
URL="postgresql+psycopg://portal:portal@127.0.0.1:5432/$DB"
PORT=8701
BARE_PORT=8702
BARE_BYTES=${BARE_BYTES:-30000}
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

pg_ctlcluster 15 main start 2>/dev/null || true
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='portal'\"" | grep -q 1 \
  || su postgres -c "psql -c \"CREATE ROLE portal LOGIN SUPERUSER PASSWORD 'portal'\""
su postgres -c "dropdb --if-exists $DB" && su postgres -c "createdb -O portal $DB"
rm -rf "$WORK" && mkdir -p "$WORK"

echo "== generating scale $SCALE into PostgreSQL"
$PY bench/generate.py --scale "$SCALE" --database-url "$URL" --upload-folder "$WORK/evidence"
LOAD_TARGETS=$($PY bench/pages.py --load-targets "$URL")
export LOAD_TARGETS

wait_for() {  # port
  for _ in $(seq 100); do
    $PY -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "server on port $1 did not start" >&2; return 1
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

echo "== portal: gunicorn, 2 workers, 127.0.0.1:$PORT"
# No worker recycling during the run (the bare page's gunicorn has none either).
BIND=127.0.0.1:$PORT WEB_CONCURRENCY=2 GUNICORN_MAX_REQUESTS=0 PORTAL_CONFIG=production SECRET_KEY=load-bench-only \
  DATABASE_URL="$URL" UPLOAD_FOLDER="$WORK/evidence" LOG_LEVEL=warning \
  .venv/bin/gunicorn -c gunicorn.conf.py 'app:create_app()' >"$WORK/portal.log" 2>&1 &
PORTAL_PID=$!; PIDS+=("$PORTAL_PID")
wait_for $PORT
# CPU by process kind over the middle of the run (after the sign-ins, before the end).
$PY bench/cpu.py 5 $((SECONDS_ > 10 ? SECONDS_ - 10 : 1)) >"$WORK/cpu.txt" &
CPU_PID=$!
$PY bench/loadgen.py --port $PORT --users "$USERS" --seconds "$SECONDS_" ${SKIP_PAGE:+--skip "$SKIP_PAGE"} \
  | tee "$WORK/portal.json"
wait "$CPU_PID" || true
stop "$PORTAL_PID"

echo "== bare Flask page of $BARE_BYTES bytes: gunicorn, 2 workers, 127.0.0.1:$BARE_PORT"
.venv/bin/gunicorn -w 2 -b 127.0.0.1:$BARE_PORT --chdir bench 'pages:BARE' >"$WORK/bare.log" 2>&1 &
BARE_PID=$!; PIDS+=("$BARE_PID")
wait_for $BARE_PORT
$PY bench/loadgen.py --port $BARE_PORT --users "$USERS" --seconds "$SECONDS_" --bare "/$BARE_BYTES" \
  | tee "$WORK/bare.json"
stop "$BARE_PID"

$PY - "$WORK" <<'EOF'
import json, sys
portal, bare = (json.load(open(f"{sys.argv[1]}/{n}.json")) for n in ("portal", "bare"))
print(f"\n{'run':<8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} errors")
for name, r in (("portal", portal), ("reads", {**portal, "all": portal["reads"],
                                              "throughput_rps": portal["page_views_per_s"]}), ("bare", bare)):
    a = r["all"]
    print(f"{name:<8} {r['throughput_rps']:>7} {a['p50']:>7} {a['p95']:>7} {a['p99']:>7} {sum(r['errors'].values())}")
for kind, s in portal["by_kind"].items():
    print(f"  {kind:<16} n={s['n']:<6} p50={s['p50']:<7} p95={s['p95']:<7} p99={s['p99']}")
print(open(f"{sys.argv[1]}/cpu.txt").read().strip())
print(f"throughput portal/bare: {portal['throughput_rps'] / bare['throughput_rps']:.2f} "
      f"(page views {portal['page_views_per_s']}/s; each also loads the header's task count, as a browser does)")
EOF
