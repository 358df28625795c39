"""The migrations build the models' schema from empty, match the models exactly, and tear down to empty."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import TestConfig
from portal import create_app
from portal.extensions import db

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


@pytest.fixture
def empty_app(db_url):
    """The app on an empty database (no create_all: the migrations build it)."""
    config = type("MigrationTestConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": db_url})
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


def _flask_db(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["db", *args, "--directory", MIGRATIONS])
    assert result.exit_code == 0, f"flask db {' '.join(args)} failed:\n{result.output}\n{result.exception!r}"
    return result.output


def _tables(app) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def _triggers(app) -> set[str]:
    with app.app_context(), db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return set(conn.scalars(sa.text(query)))


def test_upgrade_from_empty_matches_the_models_and_downgrades_to_empty(empty_app):
    assert _tables(empty_app) == set()

    _flask_db(empty_app, "upgrade")
    assert _tables(empty_app) == set(db.metadata.tables), "upgrade did not create every model's table"
    assert _triggers(empty_app) == _expected_triggers(empty_app), "the audit triggers are missing"

    # No drift: the models and the migrated schema agree (run `make migration` if this fails).
    _flask_db(empty_app, "check")

    _flask_db(empty_app, "downgrade", "base")
    assert _tables(empty_app) == set()
    assert _triggers(empty_app) == set()


def _expected_triggers(app, tables=("audit_event", "audit_checkpoint")) -> set[str]:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            return {f"{t}_no_{verb}" for t in tables for verb in ("update", "delete")}
        return {f"{t}_append_only" for t in tables}


def test_audit_events_are_append_only_after_migrating(empty_app):
    _flask_db(empty_app, "upgrade")
    with empty_app.app_context():
        from portal.audit.services import record_event

        record_event(None, "test.event", "An event to protect")
        db.session.commit()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.text("UPDATE audit_event SET summary = 'changed'"))
        db.session.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.text("DELETE FROM audit_event"))
        db.session.rollback()
        db.session.remove()
    _flask_db(empty_app, "downgrade", "base")


def test_events_from_before_keys_still_verify_and_the_downgrade_keeps_the_event_triggers(empty_app):
    """0005 keys the chain: older events keep their SHA-256 links, the first keyed event follows them."""
    from types import SimpleNamespace

    from portal.audit.models import GENESIS_HASH, canonical_content
    from portal.audit.services import link_hash, record_event, verify_audit

    _flask_db(empty_app, "upgrade", "0003")
    with empty_app.app_context(), db.engine.begin() as conn:
        prev_hash = GENESIS_HASH
        for n in (1, 2):
            columns = dict(id=n, occurred_at=dt.datetime(2026, 11, 1, 9, n, tzinfo=dt.timezone.utc),
                           actor_id=None, actor_name="System", actor_role=None, on_behalf_of_id=None,
                           action="test.legacy", object_type=None, object_id=None, release_id=None,
                           summary=f"Before keys {n}", details={})
            digest = link_hash(prev_hash, canonical_content(SimpleNamespace(**columns, key_id=None)), None)
            # Core, naming the columns revision 0003 has (the model's key_id is not there yet).
            conn.execute(db.metadata.tables["audit_event"].insert().values(**columns, prev_hash=prev_hash,
                                                                           hash=digest))
            prev_hash = digest
    _flask_db(empty_app, "upgrade")
    assert _triggers(empty_app) == _expected_triggers(empty_app)
    with empty_app.app_context():
        record_event(None, "test.event", "The first keyed event")
        db.session.commit()
        report = verify_audit()
        assert report.ok and report.checked == 3 and report.witnessed == 3, report
        db.session.remove()
    _flask_db(empty_app, "downgrade", "0004")
    assert _triggers(empty_app) == _expected_triggers(empty_app, tables=("audit_event",))
    _flask_db(empty_app, "downgrade", "base")
