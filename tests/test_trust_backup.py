"""Backup while the portal is writing, then restore into an empty portal and verify counts, audit chain, files."""
from __future__ import annotations

import json
import os
import threading
import time

import pytest
import sqlalchemy as sa

from config import TestConfig
from portal import create_app
from portal.access import Role
from portal.audit.services import record_event, verify_chain
from portal.auth import services as auth_services
from portal.auth.models import User
from portal.extensions import db

from conftest import PG_URL, PortalClient, _reset_postgres


@pytest.fixture
def evidence(app):
    root = app.config["UPLOAD_FOLDER"]
    files = {"1/design.pdf": b"%PDF-1.7\n" + os.urandom(4096), "2/nested/test-report.xlsx": os.urandom(9000),
             "3/empty.txt": b""}
    for relative, content in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(content)
    return files


@pytest.fixture
def target_app(tmp_path):
    """A second, empty portal to restore into."""
    if PG_URL:
        url = PG_URL.rsplit("/", 1)[0] + "/" + PG_URL.rsplit("/", 1)[1] + "_restore"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = url.rsplit("/", 1)[1]
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path / 'restored.db'}"
    config = type("RestoreTarget", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url,
                                                   "UPLOAD_FOLDER": str(tmp_path / "restored-evidence")})
    target = create_app(config)
    with target.app_context():
        db.create_all()
    yield target
    with target.app_context():
        db.session.remove()
        db.engine.dispose()


class Writer(threading.Thread):
    """Keeps the portal busy: a new account and an audit event per transaction."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app, self.stop, self.written, self.error = app, threading.Event(), 0, None

    def run(self):
        try:
            while not self.stop.is_set():
                with self.app.app_context():
                    n = self.written
                    user, _ = auth_services.create_user(
                        None, email=f"busy{n}@example.org", name=f"Busy {n}", organisation="DCC",
                        role=Role.DCC, password="a long enough password")
                    record_event(None, "test.write", f"write {n}", obj=user)
                    db.session.commit()
                    db.session.remove()
                self.written += 1
        except Exception as err:  # surfaced by the test
            self.error = err


def _wait_for(predicate, seconds=30):
    deadline = time.time() + seconds
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.01)


def test_backup_during_writes_restores_exactly(app, target_app, users, make_release, evidence, tmp_path):
    make_release()
    writer = Writer(app)
    writer.start()
    _wait_for(lambda: writer.written >= 5)
    result = app.test_cli_runner().invoke(args=["portal", "backup", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    at_backup = writer.written
    _wait_for(lambda: writer.written >= at_backup + 5)
    writer.stop.set()
    writer.join()
    assert writer.error is None

    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    with app.app_context():
        live_users = db.session.scalar(sa.select(sa.func.count(User.id)))
    assert manifest["row_counts"]["user"] < live_users  # the writes went on after the snapshot
    # Each write is an account and its event: the snapshot holds whole transactions only.
    busy_users = manifest["row_counts"]["user"] - len(users)
    assert busy_users > 0

    result = target_app.test_cli_runner().invoke(args=["portal", "restore", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert "Restored and verified" in result.output
    with target_app.app_context():
        for table in db.metadata.sorted_tables:
            count = db.session.scalar(sa.select(sa.func.count()).select_from(table))
            assert count == manifest["row_counts"][table.name], table.name
        chain = verify_chain()
        assert chain.ok and chain.head_hash == manifest["audit_chain"]["head_hash"]
        writes = db.session.scalar(sa.select(sa.func.count()).where(sa.text("action = 'test.write'"))
                                   .select_from(sa.table("audit_event")))
        assert writes == busy_users
        # The restored portal carries on: new rows get fresh ids, the chain keeps growing.
        auth_services.create_user(None, email="after@example.org", name="After", organisation="DCC", role=Role.DCC)
        db.session.commit()
        assert verify_chain().ok
    restored = target_app.config["UPLOAD_FOLDER"]
    for relative, content in evidence.items():
        with open(os.path.join(restored, relative), "rb") as fh:
            assert fh.read() == content
    assert set(manifest["evidence"]) == set(evidence)
    PortalClient(target_app).login(users["dcc"])  # a restored user can sign in


def test_restore_refuses_a_portal_that_is_not_empty(app, users, evidence, tmp_path):
    assert app.test_cli_runner().invoke(args=["portal", "backup", str(tmp_path / "b")]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["portal", "restore", str(tmp_path / "b")])
    assert result.exit_code != 0 and "not empty" in result.output


def test_backup_refuses_a_directory_that_is_not_empty(app, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "something").write_text("x")
    result = app.test_cli_runner().invoke(args=["portal", "backup", str(tmp_path / "b")])
    assert result.exit_code != 0 and "not empty" in result.output


def test_a_changed_evidence_file_fails_the_restore_and_keeps_nothing(app, target_app, users, evidence, tmp_path):
    assert app.test_cli_runner().invoke(args=["portal", "backup", str(tmp_path / "b")]).exit_code == 0
    with open(tmp_path / "b" / "evidence" / "1" / "design.pdf", "r+b") as fh:
        fh.write(b"%PDX")
    result = target_app.test_cli_runner().invoke(args=["portal", "restore", str(tmp_path / "b")])
    assert result.exit_code != 0 and "1/design.pdf" in result.output
    with target_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
    assert not os.path.exists(os.path.join(target_app.config["UPLOAD_FOLDER"], "1", "design.pdf"))


def test_a_changed_database_copy_fails_the_restore(app, target_app, users, tmp_path):
    assert app.test_cli_runner().invoke(args=["portal", "backup", str(tmp_path / "b")]).exit_code == 0
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    name = sorted(manifest["database_files"])[0]
    with open(tmp_path / "b" / name, "ab") as fh:
        fh.write(b"\n")
    result = target_app.test_cli_runner().invoke(args=["portal", "restore", str(tmp_path / "b")])
    assert result.exit_code != 0 and "SHA-256" in result.output
    with target_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
