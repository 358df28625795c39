#!/usr/bin/env bash
# Two hosts behind a real load balancer (issue 16, part 2): two gunicorn instances on two loopback ports sharing one
# PostgreSQL database, one evidence folder and one audit witness file, behind HAProxy (deploy/haproxy.cfg, its
# health check /healthz), driven through HAProxy. Prints throughput, p50/p95 and errors for one host and for two
# behind HAProxy (bench/loadgen.py), then the checks (bench/hosts.py): signed in across hosts, the login throttle
# across hosts, one current ballot per member after a burst over both hosts, the audit chain verified, and one host
# SIGKILLed under load (no committed write lost; no request fails once HAProxy marks it down).
# Bounded: SECONDS (at most 30) of load per run, 127.0.0.1 only; everything started is stopped on exit.
#
#   bench/hosts.sh [SCALE] [SECONDS] [USERS] [WORKERS]     (defaults 10 20 16 2; WORKERS per host)
#   VENV=/path/to/.venv bench/hosts.sh                      (another virtualenv than ./.venv)
#   KEEP_DB=1 bench/hosts.sh                                (keep the database portal_bench_hosts afterwards)
# The logs stay in $HOSTS_WORKDIR (default /tmp/portal-hosts): app1.log, app2.log, haproxy.log, hosts.json.
#
# Needs haproxy, the local PostgreSQL 15 cluster (started here if it is not running) and a superuser role `portal`
# (made here, as bench/load.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-10}
SECONDS_=${2:-20}
USERS=${3:-16}
WORKERS=${4:-2}
VENV=${VENV:-.venv}
PY=$VENV/bin/python
WORK=${HOSTS_WORKDIR:-/tmp/portal-hosts}
DB=portal_bench_hosts
URL="postgresql+psycopg://portal:portal@127.0.0.1:5432/$DB"
command -v haproxy >/dev/null || { echo "haproxy is not installed (apt-get install -y haproxy)" >&2; exit 2; }
# The gunicorn hosts run `python -m gunicorn` from this virtualenv and `flask` likewise.
export PATH="$VENV/bin:$PATH"

pg_ctlcluster 15 main start 2>/dev/null || true
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='portal'\"" | grep -q 1 \
  || su postgres -c "psql -c \"CREATE ROLE portal LOGIN SUPERUSER PASSWORD 'portal'\""
su postgres -c "dropdb --if-exists $DB" && su postgres -c "createdb -O portal $DB"
# The database goes at the end (KEEP_DB=1 keeps it); the work folder keeps the hosts' and HAProxy's logs.
[ "${KEEP_DB:-0}" = 1 ] || trap 'su postgres -c "dropdb --if-exists --force $DB" || true' EXIT
rm -rf "$WORK" && mkdir -p "$WORK/evidence"

echo "== generating scale $SCALE into PostgreSQL"
$PY bench/generate.py --scale "$SCALE" --database-url "$URL" --upload-folder "$WORK/evidence"
LOAD_TARGETS=$($PY bench/pages.py --load-targets "$URL")
export LOAD_TARGETS

# bench/hosts.py starts the hosts and HAProxy in their own process groups and stops them however it ends; a
# timeout stops a hung run (SIGTERM first, so its clean-up runs).
timeout --kill-after=20 $((SECONDS_ * 2 + 240)) \
  $PY bench/hosts.py --database-url "$URL" --work "$WORK" --seconds "$SECONDS_" --users "$USERS" --workers "$WORKERS"
