"""A failed or interrupted upload leaves neither a row nor a stray file; clean-uploads tidies up after a crash."""
from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from portal.criteria import storage
from portal.criteria.cli import clean_uploads
from portal.releases.models import Stage
from tests.test_evidence_upload import PDF, events, files, stored_files, upload, url

BOUNDARY = "----portalboundary"


def multipart_body(token: str, content: bytes) -> bytes:
    parts = [f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n",
             f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nBig report\r\n",
             f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
             "Content-Type: application/pdf\r\n\r\n"]
    return "".join(parts).encode() + content + f"\r\n--{BOUNDARY}--\r\n".encode()


class BrokenStream(io.RawIOBase):
    """A request body that fails after `fail_at` bytes: by raising, or by ending early (a client disconnect)."""

    def __init__(self, body: bytes, fail_at: int, raise_error: bool):
        self.body, self.fail_at, self.raise_error, self.pos = body, fail_at, raise_error, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        self.pos = offset if whence == 0 else (self.pos + offset if whence == 1 else len(self.body) + offset)
        return self.pos

    def readinto(self, buffer):
        if self.pos >= self.fail_at:
            if self.raise_error:
                raise OSError("connection reset by peer")
            return 0
        chunk = self.body[self.pos:min(self.fail_at, self.pos + len(buffer))]
        buffer[:len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)


@pytest.fixture
def release(make_release):
    return make_release(Stage.EVIDENCE)


@pytest.mark.parametrize("raise_error", [True, False], ids=["stream-raises", "client-disconnects"])
def test_interrupted_upload_leaves_no_row_and_no_file(app, client, users, release, raise_error):
    client.login(users["dcc"])
    body = multipart_body(client.csrf_token(), PDF + os.urandom(3 * 1024 * 1024))
    response = client.post(url(release, 1), input_stream=BrokenStream(body, len(body) // 2, raise_error),
                           content_length=len(body), content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert response.status_code in (400, 500)
    # The file part had started streaming into a temp file in the upload folder, which is now gone.
    assert (Path(app.config["UPLOAD_FOLDER"]) / storage.TMP_DIR).is_dir()
    assert files(app) == [] and stored_files(app) == [] and events(app, "evidence.") == []


def test_the_same_body_uploads_when_complete(app, client, users, release):
    client.login(users["dcc"])
    body = multipart_body(client.csrf_token(), PDF + b"x" * 1000)
    response = client.post(url(release, 1), input_stream=io.BytesIO(body), content_length=len(body),
                           content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert response.status_code == 303
    assert len(files(app)) == 1 and len(stored_files(app)) == 1


def test_refused_upload_removes_its_temp_file(app, client, users, release):
    client.login(users["opsg"])
    assert upload(client, release, 1).status_code == 403
    client.logout()
    client.login(users["dcc"])
    assert upload(client, release, 1, content=b"MZ" + b"\0" * 64).status_code == 422
    assert stored_files(app) == []


def test_clean_uploads_removes_stray_temps_and_reports_orphans(app, client, users, release):
    client.login(users["dcc"])
    upload(client, release, 1)
    folder = Path(app.config["UPLOAD_FOLDER"])
    # What a server killed mid-upload leaves: a temp file, and a stored file whose row never committed.
    stray = folder / storage.TMP_DIR / (storage.TMP_PREFIX + "crashed.part")
    stray.write_bytes(b"partial")
    old = time.time() - 7200
    os.utime(stray, (old, old))
    orphan = folder / ("ab" * 32)[:2] / ("ab" * 32)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"orphan")
    result = app.test_cli_runner().invoke(clean_uploads, [])
    assert "Removed 1 stray temporary file(s)." in result.output
    assert f"Orphan (no evidence row): {orphan}" in result.output
    assert not stray.exists() and orphan.exists()
    result = app.test_cli_runner().invoke(clean_uploads, ["--remove-orphans"])
    assert not orphan.exists() and len(stored_files(app)) == 1
