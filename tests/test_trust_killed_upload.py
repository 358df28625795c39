"""Faults: the real server SIGKILLed halfway through a large upload leaves no evidence row without its file,
and `flask portal clean-uploads` then leaves no partial file in the upload folder."""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.upload import CHUNK, ROOT, SERVER, free_port, sign_in, upload
from config import TestConfig
from portal import create_app
from portal.criteria import storage
from portal.criteria.cli import clean_uploads
from portal.criteria.evidence_models import EvidenceFile
from portal.extensions import db
from tests.test_evidence_interrupted import BOUNDARY, multipart_body

TOTAL_MB = 50

pytestmark = pytest.mark.slow


def start_server(work: Path) -> tuple[subprocess.Popen, int]:
    """bench/upload.py's server: werkzeug on 127.0.0.1, a SQLite file database and demo data, in `work`."""
    port = free_port()
    script = SERVER.format(root=str(ROOT), work=str(work), port=port, limit=(TOTAL_MB + 10) * CHUNK)
    server = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, port
        except OSError:
            time.sleep(0.1)
    server.kill()
    pytest.fail("the server did not start")


def temps(work: Path) -> list[Path]:
    return sorted((work / "evidence" / storage.TMP_DIR).glob("*"))


def send_half_and_kill(server: subprocess.Popen, port: int, cookie: str, token: str, work: Path) -> None:
    """Stream a 50 MB PDF slowly in 1 MB chunks, SIGKILL the server mid-write once
    most of the first half has reached its temp file."""
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    head = multipart_body(token, b"")[:-len(tail)] + b"%PDF-1.4\n"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", "/releases/feb-2021/criteria/1/evidence")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(len(head) + TOTAL_MB * CHUNK + len(tail)))
    conn.putheader("Cookie", cookie)
    conn.endheaders()
    conn.send(head)
    chunk = os.urandom(CHUNK)
    for _ in range(TOTAL_MB // 2):
        conn.send(chunk)
        time.sleep(0.01)
    # Wait until the server has written most of what was sent, so it dies mid-write, not before reading.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(p.stat().st_size for p in temps(work)) < TOTAL_MB // 3 * CHUNK:
        time.sleep(0.05)
    server.kill()
    server.wait(timeout=10)
    conn.close()


def test_server_killed_mid_upload_leaves_no_row_without_file_and_no_partial_after_clean_up(tmp_path):
    server, port = start_server(tmp_path)
    try:
        cookie, token = sign_in(port)
        small = tmp_path / "small.pdf"
        small.write_bytes(b"%PDF-1.4\n" + os.urandom(4096))
        assert upload(port, cookie, token, small) == 303  # one complete upload before the crash
        send_half_and_kill(server, port, cookie, token, tmp_path)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
    partial = temps(tmp_path)
    assert partial and partial[0].stat().st_size > TOTAL_MB // 3 * CHUNK  # killed halfway, as intended

    config = type("SameInstance", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/bench.db",
                                                  "UPLOAD_FOLDER": str(tmp_path / "evidence")})
    app = create_app(config)
    with app.app_context():
        rows = db.session.scalars(sa.select(EvidenceFile)).all()
        assert [r.original_name for r in rows] == ["bench.pdf"]
        assert all(storage.path_for(r.sha256).is_file() for r in rows)
        # Temp files younger than the default hour may be uploads in progress; this server is known dead.
        result = app.test_cli_runner().invoke(clean_uploads, ["--older-than-minutes", "0"])
        assert result.exit_code == 0 and "Removed 1 stray temporary file(s)." in result.output
        assert "0 orphaned file(s)" in result.output
        db.engine.dispose()
    assert temps(tmp_path) == []
    stored = [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [rows[0].sha256]
