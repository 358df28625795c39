# The SEC Release Portal: `make run` (demo on http://127.0.0.1:5000) and `make test` (the whole suite).
# Every target is idempotent: installs are guarded by stamp files in .venv-stamps/, so a second run
# only redoes what changed (a requirements file, package-lock.json, the Sass sources).

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
STAMPS := .venv-stamps
CHROMIUM ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 5000
SCSS := $(wildcard assets/scss/*.scss assets/js/*.js assets/images/*)
# pytest options: one xdist worker per core by default (on PostgreSQL each worker has its own database);
# `make test PYTEST_ARGS=` runs in one process, `make test PYTEST_ARGS="-k vote"` picks tests.
PYTEST_ARGS ?= -n auto
# The instance folder holds the SQLite database and the evidence store (/healthz needs the latter to exist).
INSTANCE_DIRS = mkdir -p "$${PORTAL_INSTANCE:-instance}" "$${UPLOAD_FOLDER:-$${PORTAL_INSTANCE:-instance}/evidence}"

.PHONY: run test screenshots serve migrate demo assets chromium java port-free migration clean-stamps

## make run: everything from a fresh clone, then serve the demo on http://$(HOST):$(PORT)
run: $(STAMPS)/requirements static/css/portal.css port-free
	@$(INSTANCE_DIRS)
	$(FLASK) db upgrade
	$(FLASK) portal refresh-rid
	$(FLASK) portal demo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C to stop). Sign in with a demo login above."
	$(FLASK) run --host $(HOST) --port $(PORT)

## make test: unit, HTTP and browser tests (PostgreSQL instead of SQLite when TEST_DATABASE_URL is set)
test: $(STAMPS)/requirements-dev static/css/portal.css chromium java
	$(PY) -m pytest -q $(PYTEST_ARGS)

## make screenshots: the browser tests, saving docs/screenshots/*.png for the README
screenshots: $(STAMPS)/requirements-dev static/css/portal.css chromium
	SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q tests/browser

## make serve: production mode with gunicorn (see gunicorn.conf.py); needs DATABASE_URL and SECRET_KEY
serve: $(STAMPS)/requirements static/css/portal.css
	@test -n "$$DATABASE_URL" || { echo "Set DATABASE_URL, e.g. postgresql+psycopg://portal:secret@127.0.0.1:5432/portal"; exit 2; }
	@test -n "$$SECRET_KEY" || { echo "Set SECRET_KEY to a long random string"; exit 2; }
	@$(INSTANCE_DIRS)
	PORTAL_CONFIG=production $(FLASK) db upgrade
	PORTAL_CONFIG=production $(FLASK) portal refresh-rid
	PORTAL_CONFIG=production $(VENV)/bin/gunicorn -c gunicorn.conf.py 'app:create_app()'

## make migration m="what changed": add the next migration revision for changed models
migration: $(STAMPS)/requirements
	sh scripts/new_migration.sh "$(m)"

migrate: $(STAMPS)/requirements
	@$(INSTANCE_DIRS)
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) portal demo

assets: static/css/portal.css

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMPS)/requirements: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/requirements-dev: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@mkdir -p $(STAMPS) && touch $(STAMPS)/requirements $@

$(STAMPS)/npm: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

static/css/portal.css: $(STAMPS)/npm $(SCSS) scripts/build_assets.sh
	npm run --silent build

# Browser tests use Debian's Chromium (Playwright cannot download its own browser here).
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "No Chromium at $(CHROMIUM) and not root: browser tests will be skipped."; fi

# The W3C Nu Html Checker (vnu-jar, from npm) runs on Java: Debian's default-jre-headless.
java:
	@if command -v java >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; \
	else echo "No java and not root: the HTML validity tests will be skipped."; fi

# Say so, before migrating and loading anything, when another program holds the port.
port-free: | $(PY)
	@$(PY) -c "import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
	s.bind(('$(HOST)', $(PORT)))" 2>/dev/null || { \
	echo "Port $(PORT) on $(HOST) is already in use (another \`make run\`?). Stop that program, or choose another port: make run PORT=5001"; \
	exit 2; }

clean-stamps:
	rm -rf $(STAMPS)
