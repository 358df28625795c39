"""Engine settings that make SQLite safe for a regulatory record (WAL, FULL sync, IMMEDIATE writes), and the write
idioms every service shares (insert once, update once, read under a row lock, the next position, get or create)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, has_request_context, request
from sqlalchemy import event

from .access import Conflict
from .extensions import db


def _configure_sqlite(engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is DEFERRED and late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Long enough for a burst of signed writers queued behind each other (the slow password check holds no lock).
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=FULL")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        # Writers take the lock up front so two writers never deadlock on upgrade; page reads, and connections opened
        # for reading only (READ_ONLY), stay DEFERRED so they never wait behind a writer.
        reading = conn.get_execution_options().get("portal_read_only") or (
            has_request_context() and request.method in ("GET", "HEAD", "OPTIONS"))
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


# Execution options of a connection that only reads (`db.engine.connect().execution_options(**READ_ONLY)`).
READ_ONLY = {"portal_read_only": True}


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, app.config.get("SQLITE_BUSY_TIMEOUT_SECONDS", 60) * 1000)


# --- The two write idioms every service uses ----------------------------------------------------------

def insert_once(row, message: str) -> None:
    """Insert `row` in a savepoint; a unique-constraint clash with a concurrent request becomes a clear 409."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(message) from None


def update_once(model, where, values: dict, message: str) -> None:
    """A conditional update of exactly one row: if the row no longer matches `where`, someone got there first."""
    result = db.session.execute(sa.update(model).where(*where).values(**values)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(message)


def next_position(model, **where) -> int:
    """The position after the last of `model`'s rows that match `where` (column=value), 1 when there are none."""
    last = sa.select(sa.func.max(model.position)).where(*(getattr(model, k) == v for k, v in where.items()))
    return (db.session.scalar(last) or 0) + 1


def get_or_create(model, lookup: dict, **values):
    """The row that matches `lookup`, or a new one with `values` too, flushed so that it has its id."""
    row = db.session.scalar(sa.select(model).filter_by(**lookup))
    if row is None:
        row = model(**lookup, **values)
        db.session.add(row)
        db.session.flush()
    return row


def locked(model, id_: int):
    """Re-read one row under a row lock (PostgreSQL); SQLite's IMMEDIATE transaction already serialises writers."""
    return db.session.execute(sa.select(model).where(model.id == id_).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()
