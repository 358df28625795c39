#!/bin/sh
# Add the next migration revision for model changes (run by `make migration m="what changed"`).
# 1. upgrade an empty SQLite database to the current head
# 2. autogenerate the difference to the models as revision NNNN (dated file name, batch mode for SQLite)
# 3. check: `flask db check` finds no drift left
# Read the new file before committing it: autogenerate cannot see triggers or data changes.
set -eu
cd "$(dirname "$0")/.."
MESSAGE="${1:?usage: make migration m=\"what changed\"}"
FLASK="${FLASK:-.venv/bin/flask} --app app"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export PORTAL_CONFIG=development DATABASE_URL="sqlite:///$TMP/empty.db"

NEXT=$(printf "%04d" $(( $(ls migrations/versions/*.py | wc -l) + 1 )))
$FLASK db upgrade
$FLASK db migrate --rev-id "$NEXT" -m "$MESSAGE"
$FLASK db upgrade
$FLASK db check
echo "Added $(ls migrations/versions/*_"$NEXT"_*.py)"
