"""Fixtures: a fresh app and database per test, builders for users and releases, a login helper."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import TestConfig  # noqa: E402
from portal import create_app  # noqa: E402
from portal.access import Role  # noqa: E402
from portal.auth import services as auth_services  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.releases import demo  # noqa: E402
from portal.releases.models import Release, Stage  # noqa: E402

PASSWORD = "correct horse battery staple"


def _database_for_this_worker(url: str) -> str:
    """Under xdist each worker gets its own PostgreSQL database (created once), so workers never meet."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base, name = url.rsplit("/", 1)
    name = f"{name}_{worker}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    # Modules that read the variable themselves (trust_helpers) see this worker's database too.
    os.environ["TEST_DATABASE_URL"] = f"{base}/{name}"
    return os.environ["TEST_DATABASE_URL"]


def _keep_compiled_url_builders() -> None:
    """Each test builds its own app, and werkzeug compiles two Python functions for every URL rule of every app
    (8% of the time of the three test files profiled). The functions depend only on the rule's text, its parsed
    parts and its defaults, so a process keeps one pair per rule and every later app reuses them."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    kept: dict = {}

    def kept_builder(self, append_unknown: bool = True):
        key = (self.rule, self.host, self.subdomain, tuple(self._trace),
               tuple(sorted((k, repr(v)) for k, v in (self.defaults or {}).items())), append_unknown)
        if key not in kept:
            kept[key] = compile_builder(self, append_unknown)
        return kept[key]

    Rule._compile_builder = kept_builder


_keep_compiled_url_builders()


PG_URL = _database_for_this_worker(os.environ.get("TEST_DATABASE_URL", ""))
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def pytest_report_header(config):
    return f"database: {'PostgreSQL (' + PG_URL.rsplit('@', 1)[-1] + ')' if PG_URL else 'SQLite (file per test)'}"


# What `db.create_all()` made, as _schema_of() reads it: a test that changed anything else (dropped a trigger,
# ran the migrations, restored a backup) leaves a schema that is dropped rather than emptied.
_FRESH_SCHEMA: list[frozenset] = []


def _schema_of(conn) -> frozenset:
    return frozenset(conn.execute(sa.text(
        "SELECT 'column', table_name, column_name || ' ' || data_type || ' ' || is_nullable "
        "FROM information_schema.columns WHERE table_schema = 'public' "
        "UNION ALL SELECT 'trigger', event_object_table, trigger_name || ' ' || event_manipulation "
        "FROM information_schema.triggers WHERE trigger_schema = 'public' "
        "UNION ALL SELECT 'index', tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "UNION ALL SELECT 'constraint', conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace "
        "UNION ALL SELECT 'function', proname, md5(prosrc) FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
    )).all())


def _reset_postgres(url: str, keep_schema: bool = False) -> None:
    """An empty database for the next test. Where the schema is exactly what `db.create_all()` made (the usual
    case), its rows are deleted (children first) and its sequences restarted: a quarter of the time of TRUNCATE,
    which makes new files for every table, for the few rows a test leaves. Any other schema is dropped for
    `db.create_all()` to make afresh."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        if keep_schema and _FRESH_SCHEMA and _schema_of(conn) == _FRESH_SCHEMA[0]:
            # The append-only triggers refuse DELETE: off for these statements, as the tables' owner.
            guarded = sorted({table for kind, table, _ in _FRESH_SCHEMA[0] if kind == "trigger"})
            for table in guarded:
                conn.execute(sa.text(f'ALTER TABLE "{table}" DISABLE TRIGGER USER'))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(sa.text(f'DELETE FROM "{table.name}"'))
            for table in guarded:
                conn.execute(sa.text(f'ALTER TABLE "{table}" ENABLE TRIGGER USER'))
            for sequence in conn.scalars(sa.text(
                    "SELECT pg_get_serial_sequence(quote_ident(c.relname), a.attname) FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = 'public'::regnamespace "
                    "AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped")).all():
                if sequence:
                    conn.execute(sa.text(f"ALTER SEQUENCE {sequence} RESTART"))
        else:
            _FRESH_SCHEMA.clear()
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _check_stored_rids() -> None:
    """After every test: each release's stored current RID (Release.rid_live, kept by session hooks) is exactly
    what its tables say, whatever the test did through the portal."""
    from sqlalchemy.orm import undefer

    from portal.releases.services import rid_snapshot

    try:
        releases = list(db.session.scalars(sa.select(Release).options(undefer(Release.rid_live))))
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return  # the test took the database away (fault and restore tests)
    for release in releases:
        if release.rid_live is not None:
            assert release.rid_live == json.loads(json.dumps(rid_snapshot(release))), \
                f"stored RID of {release.code} differs from its tables"
    db.session.remove()


@pytest.fixture
def db_url(tmp_path, request) -> str:
    if PG_URL:
        # A test without the app fixture (the migration tests) builds its own schema: it gets none.
        _reset_postgres(PG_URL, keep_schema="app" in request.fixturenames)
        return PG_URL
    return f"sqlite:///{tmp_path / 'portal.db'}"


@pytest.fixture
def app_config(tmp_path, db_url) -> dict:
    """Settings a test may change before the app is built."""
    return {"SQLALCHEMY_DATABASE_URI": db_url, "UPLOAD_FOLDER": str(tmp_path / "evidence"),
            "AUDIT_WITNESS_PATH": str(tmp_path / "audit-witness.jsonl")}


@pytest.fixture
def app(app_config):
    config = type("PerTestConfig", (TestConfig,), app_config)
    app = create_app(config)
    with app.app_context():
        db.create_all()
        if PG_URL and not _FRESH_SCHEMA:
            with db.engine.connect() as conn:
                _FRESH_SCHEMA.append(_schema_of(conn))
    yield app
    with app.app_context():
        db.session.remove()
        _check_stored_rids()
        db.engine.dispose()


class PortalClient:
    """A test client that signs in as a user and sends forms with their CSRF token."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self.user = None

    def __getattr__(self, name):
        return getattr(self.http, name)

    def csrf_token(self) -> str:
        page = self.http.get("/login" if self.user is None else "/tasks")
        match = CSRF_RE.search(page.get_data(as_text=True))
        assert match, "no CSRF token on the page"
        return match.group(1)

    def post_form(self, url: str, data: dict | None = None, *, htmx: bool = False, token: bool = True, **kw):
        data = dict(data or {})
        headers = dict(kw.pop("headers", {}))
        if token:
            data.setdefault("csrf_token", self.csrf_token())
        if htmx:
            headers["HX-Request"] = "true"
        return self.http.post(url, data=data, headers=headers, **kw)

    def login(self, user, password: str = PASSWORD):
        self.user = None
        response = self.post_form("/login", {"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        self.user = user
        return response

    def logout(self):
        self.post_form("/logout")
        self.user = None


@pytest.fixture
def client(app) -> PortalClient:
    return PortalClient(app)


@pytest.fixture
def make_user(app):
    """Builder: make_user(Role.DCC, chair=True, admin=False, email=None) -> User (password PASSWORD)."""
    counter = {"n": 0}

    def build(role: Role = Role.SECAS, *, chair: bool = False, admin: bool = False, email: str | None = None,
              name: str | None = None, organisation: str | None = None, active: bool = True):
        counter["n"] += 1
        with app.app_context():
            user, _ = auth_services.create_user(
                None, email=email or f"{role.value}{counter['n']}@example.org",
                name=name or f"{role.label} person {counter['n']}", organisation=organisation or role.label,
                role=role, password=PASSWORD, is_admin=admin, is_chair=chair, must_change_password=False)
            user.active = active
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    return build


@pytest.fixture
def make_release(app):
    """Builder: the February 2021 demo release, optionally put straight into a stage for a test's set-up."""

    def build(stage: Stage = Stage.DRAFT) -> Release:
        with app.app_context():
            release, _ = demo.load_demo_release()
            release.stage = stage
            db.session.commit()
            db.session.refresh(release)
            db.session.expunge(release)
        return release

    return build


@pytest.fixture
def users(make_user):
    """One user of each kind the workflow needs."""
    return {
        "secas": make_user(Role.SECAS, admin=True, name="Sam Admin"),
        "dcc": make_user(Role.DCC),
        "opsg_chair": make_user(Role.OPSG, chair=True),
        "opsg": make_user(Role.OPSG),
        "panel_chair": make_user(Role.PANEL, chair=True),
        "panel": make_user(Role.PANEL),
    }


@pytest.fixture
def login(client):
    """login(user) signs the shared client in as `user` and returns it."""

    def do(user):
        client.login(user)
        return client

    return do
