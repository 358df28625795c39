#!/bin/sh
# Regenerate the single initial migration from the current models (run by `make migration`).
# 1. delete migrations/versions/*_0001_initial_schema.py
# 2. autogenerate it against an empty SQLite database (fixed revision id 0001, dated file name)
# 3. add the audit_event append-only triggers, which autogenerate cannot see
# 4. check: upgrade on an empty database, then `flask db check` finds no drift
set -eu
cd "$(dirname "$0")/.."
FLASK="${FLASK:-.venv/bin/flask} --app app"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export PORTAL_CONFIG=development DATABASE_URL="sqlite:///$TMP/empty.db"

rm -f migrations/versions/*_0001_initial_schema.py
$FLASK db migrate --rev-id 0001 -m "initial schema"
FILE=$(ls migrations/versions/*_0001_initial_schema.py)
.venv/bin/python scripts/add_audit_triggers.py "$FILE"

$FLASK db upgrade
$FLASK db check
echo "Regenerated $FILE"
