"""Helpers for the trust tests: cutting the database connection as an outage would."""
from __future__ import annotations

import os

import sqlalchemy as sa

from portal.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


class DatabaseSwitch:
    """Cut and restore the portal's database connection, as a network fault or a server outage would."""

    def __init__(self, app):
        self.app = app
        self.down = False
        with app.app_context():
            self.engine = db.engine
        sa.event.listen(self.engine, "do_connect", self._connect)
        sa.event.listen(self.engine, "checkout", self._checkout)

    def _connect(self, dialect, conn_rec, cargs, cparams):
        if self.down:
            raise dialect.loaded_dbapi.OperationalError("connection refused (simulated outage)")

    def _checkout(self, dbapi_connection, record, proxy):
        if self.down:
            # A pooled connection to a dead server: the pool throws it away and tries to reconnect.
            raise sa.exc.DisconnectionError("server closed the connection (simulated outage)")

    def cut(self):
        self.down = True
        # Existing connections die with the server: the pool must not hand them out again.
        self.engine.pool.dispose()
        if PG_URL:
            admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
            with admin.connect() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            admin.dispose()

    def restore(self):
        self.down = False
