"""The migrations build the models' schema from empty, match the models exactly, and tear down to empty."""
from __future__ import annotations

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
    assert _triggers(empty_app) == _expected_triggers(empty_app), "the audit_event triggers are missing"

    # No drift: the models and the migrated schema agree (run `make migration` if this fails).
    _flask_db(empty_app, "check")

    _flask_db(empty_app, "downgrade", "base")
    assert _tables(empty_app) == set()
    assert _triggers(empty_app) == set()


def _expected_triggers(app) -> set[str]:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            return {"audit_event_no_update", "audit_event_no_delete"}
        return {"audit_event_append_only"}


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
