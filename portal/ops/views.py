"""`/healthz` for the load balancer: is the database reachable and the evidence store writable."""
from __future__ import annotations

import logging
import os
import tempfile

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from ..access import public
from ..extensions import db

bp = Blueprint("ops", __name__)
log = logging.getLogger("portal.ops")



def _database_ok() -> tuple[bool, str]:
    try:
        with db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL statement_timeout = 2000")
            conn.execute(sa.text("SELECT 1"))
        return True, "ok"
    except Exception as err:  # any failure means "not reachable" to a load balancer
        log.error("health check: database unreachable", extra={"reason": type(err).__name__})
        return False, "unreachable"


def _storage_ok() -> tuple[bool, str]:
    folder = current_app.config["UPLOAD_FOLDER"]
    if not os.path.isdir(folder):
        return False, "missing"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".healthz-"):
            pass
    except OSError as err:
        log.error("health check: storage not writable", extra={"reason": str(err)})
        return False, "not writable"
    return True, "ok"


@bp.get("/healthz")
@public
def healthz():
    db_ok, db_state = _database_ok()
    storage_ok, storage_state = _storage_ok()
    healthy = db_ok and storage_ok
    body = {"status": "ok" if healthy else "unavailable", "database": db_state, "storage": storage_state}
    return jsonify(body), 200 if healthy else 503
