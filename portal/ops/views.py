"""`/healthz` for the load balancer: is the database reachable, the upload folder writable, and (EVIDENCE_STORAGE=s3)
the object store reachable."""
from __future__ import annotations

import logging
import os
import tempfile

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from ..access import public
from ..criteria.backends import backend
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
    folder = current_app.config["UPLOAD_FOLDER"]  # the evidence (local) or where uploads are staged (s3)
    if not os.path.isdir(folder):
        return False, "missing"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".healthz-"):
            pass
    except OSError as err:
        log.error("health check: storage not writable", extra={"reason": str(err)})
        return False, "not writable"
    return True, "ok"


def _object_store_ok() -> tuple[bool, str]:
    try:
        return backend().check()
    except Exception as err:  # a store that cannot even be set up is "unreachable" to a load balancer
        log.error("health check: evidence store not set up", extra={"reason": f"{type(err).__name__}: {err}"})
        return False, "unreachable"


@bp.get("/healthz")
@public
def healthz():
    db_ok, db_state = _database_ok()
    storage_ok, storage_state = _storage_ok()
    body = {"database": db_state, "storage": storage_state}
    if current_app.config.get("EVIDENCE_STORAGE", "local") != "local":
        store_ok, body["object_store"] = _object_store_ok()
        if db_ok and storage_ok and not store_ok:
            # The shared object store down is down for every host alike: the load balancer keeps them all, the
            # pages that do not need it keep working, and uploads answer 503 with a reference.
            return jsonify({"status": "degraded"} | body), 200
    healthy = db_ok and storage_ok
    return jsonify({"status": "ok" if healthy else "unavailable"} | body), 200 if healthy else 503
