"""Evidence uploads, downloads, withdraw/replace, through HTTP as each role."""
from __future__ import annotations

import hashlib
import html
import io
import random
import threading
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.formparser import MultiPartParser

from portal.audit.models import AuditEvent
from portal.criteria import storage
from portal.criteria.evidence_models import EvidenceFile
from portal.extensions import db
from portal.releases.models import Stage

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CODE = None


def url(release, number: int, tail: str = "evidence") -> str:
    return f"/releases/{release.code}/criteria/{number}/{tail}"


def upload(client, release, number: int, content: bytes = PDF, name: str = "report.pdf",
           description: str = "Test report", htmx: bool = False, **extra):
    data = {"file": (io.BytesIO(content), name), "description": description, **extra}
    return client.post_form(url(release, number), data, htmx=htmx)


def files(app) -> list[EvidenceFile]:
    with app.app_context():
        return db.session.scalars(sa.select(EvidenceFile).order_by(EvidenceFile.id)).all()


def events(app, prefix: str) -> list[str]:
    with app.app_context():
        return [e.action for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like(prefix + "%")))]


def stored_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def ooxml(kind: str) -> bytes:
    part = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "pptx": "ppt/presentation.xml"}[kind]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr(part, "<x/>")
    return buf.getvalue()


def odf(mimetype: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mimetype", mimetype)
        zf.writestr("content.xml", "<x/>")
    return buf.getvalue()


@pytest.fixture
def release(make_release):
    return make_release(Stage.EVIDENCE)


def test_dcc_uploads_to_its_criterion_and_sees_it_listed(app, client, users, release):
    client.login(users["dcc"])
    response = upload(client, release, 1, htmx=True)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    body = response.get_data(as_text=True)
    assert 'id="criterion-evidence"' in body and "report.pdf" in body
    [row] = files(app)
    assert row.content_type == "application/pdf" and row.size == len(PDF)
    import hashlib
    assert row.sha256 == hashlib.sha256(PDF).hexdigest() and row.sha256 in body
    assert (Path(app.config["UPLOAD_FOLDER"]) / row.sha256[:2] / row.sha256).read_bytes() == PDF
    assert events(app, "evidence.") == ["evidence.upload"]
    assert "criterion-changed" in response.headers["HX-Trigger"].split(", ")


def test_plain_upload_redirects_303(app, client, users, release):
    client.login(users["dcc"])
    response = upload(client, release, 2)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "report.pdf" in page


def test_secas_uploads_to_criterion_9(app, client, users, release):
    client.login(users["secas"])
    assert upload(client, release, 9).status_code == 303
    assert len(files(app)) == 1


@pytest.mark.parametrize("who,number", [("dcc", 9), ("secas", 1), ("opsg", 1), ("panel", 1)])
def test_other_roles_cannot_upload(app, client, users, release, who, number):
    client.login(users[who])
    response = upload(client, release, number)
    assert response.status_code == 403
    assert files(app) == [] and stored_files(app) == [] and events(app, "evidence.") == []


@pytest.mark.parametrize("stage", [Stage.DRAFT, Stage.PANEL_VOTE, Stage.LIVE, Stage.DEFERRED])
def test_upload_refused_in_wrong_stage(app, client, users, make_release, stage):
    release = make_release(stage)
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 409
    assert files(app) == [] and stored_files(app) == []


@pytest.mark.parametrize("content,name,message", [
    (b"MZ\x90\x00\x03" + b"\x00" * 100, "report.pdf", "not a type the portal accepts"),
    (b"<html><script>alert(1)</script></html>", "notes.txt", "not a type the portal accepts"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "pic.png", "not a type"),
    (b"#!/bin/sh\nrm -rf /\n", "run.txt", "not a type"),
    (b"\xff\xfe\x00bad utf", "data.csv", "not a type"),
    (b"plain but has \x00 NUL", "notes.txt", "not a type"),
    (PDF, "report.docx", "Rename it to end '.pdf'"),
    (b"", "empty.pdf", "empty"),
    (b"PK\x03\x04not really a zip", "x.docx", "not a type"),
    (PDF, "../../etc/passwd.pdf", "must not contain folder names"),
    (PDF, "bad\x07name.pdf", "control characters"),
])
def test_bad_files_are_refused_with_a_message(app, client, users, release, content, name, message):
    client.login(users["dcc"])
    response = upload(client, release, 1, content=content, name=name, htmx=True)
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))
    assert files(app) == [] and stored_files(app) == [] and events(app, "evidence.") == []


def test_missing_description_or_file(app, client, users, release):
    client.login(users["dcc"])
    response = upload(client, release, 1, description="")
    assert response.status_code == 422 and "Enter a description of the file" in response.get_data(as_text=True)
    response = client.post_form(url(release, 1), {"description": "x"})
    assert response.status_code == 422 and "Select a file to upload" in response.get_data(as_text=True)
    assert files(app) == [] and stored_files(app) == []


@pytest.mark.parametrize("content,name,mime", [
    (ooxml("docx"), "a.docx", "wordprocessingml"), (ooxml("xlsx"), "a.xlsx", "spreadsheetml"),
    (ooxml("pptx"), "a.pptx", "presentationml"),
    (odf("application/vnd.oasis.opendocument.text"), "a.odt", "opendocument.text"),
    (odf("application/vnd.oasis.opendocument.spreadsheet"), "a.ods", "opendocument.spreadsheet"),
    (odf("application/vnd.oasis.opendocument.presentation"), "a.odp", "opendocument.presentation"),
    (b"a,b\n1,2\n", "a.csv", "text/csv"), ("Résumé of tests\n".encode(), "a.txt", "text/plain"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "a.png", "image/png"), (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "a.jpg", "image/jpeg"),
])
def test_accepted_types_detected_by_content(app, client, users, release, content, name, mime):
    client.login(users["dcc"])
    assert upload(client, release, 1, content=content, name=name).status_code == 303
    assert mime in files(app)[0].content_type


def test_zip_that_is_not_office_is_refused(app, client, users, release):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("evil.exe", "MZ")
    client.login(users["dcc"])
    assert upload(client, release, 1, content=buf.getvalue(), name="a.docx").status_code == 422


def test_identical_content_is_recognised(app, client, users, release):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    response = upload(client, release, 1, name="copy.pdf", htmx=True)
    assert response.status_code == 409
    assert "already on criterion 1" in response.get_data(as_text=True)
    assert len(files(app)) == 1
    # The same content on another criterion is a separate record of the same stored file.
    assert upload(client, release, 2).status_code == 303
    assert len(files(app)) == 2 and len(stored_files(app)) == 1


def test_over_the_limit_is_a_413_message_in_the_page(app, client, users, release):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    client.login(users["dcc"])
    response = upload(client, release, 1, content=PDF + b"0" * (1024 * 1024 + 10), htmx=True)
    assert response.status_code == 413
    assert "must be smaller than 1 MB" in response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#portal-messages"
    assert files(app) == [] and stored_files(app) == []


@pytest.mark.parametrize("who", ["dcc", "secas", "opsg", "panel"])
def test_every_role_downloads_as_attachment(app, client, users, release, who):
    client.login(users["dcc"])
    upload(client, release, 1, name='Évidence report; v1.pdf')
    row = files(app)[0]
    client.logout()
    client.login(users[who])
    response = client.get(f"/evidence/{row.id}/download")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''%C3%89vidence" in disposition


def test_anonymous_cannot_download(app, client, users, release):
    client.login(users["dcc"])
    upload(client, release, 1)
    row = files(app)[0]
    client.logout()
    assert client.get(f"/evidence/{row.id}/download").status_code == 302


def test_withdraw_keeps_the_file_marked(app, client, users, release):
    client.login(users["dcc"])
    upload(client, release, 1)
    row = files(app)[0]
    response = client.post_form(f"/evidence/{row.id}/withdraw", {"reason": "Superseded"}, htmx=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Withdrawn" in body and "Superseded" in body and users["dcc"].name in body
    row = files(app)[0]
    assert row.withdrawn_at is not None and row.withdrawn_by_id == users["dcc"].id
    assert client.get(f"/evidence/{row.id}/download").status_code == 200
    assert client.post_form(f"/evidence/{row.id}/withdraw", {"reason": "again"}).status_code == 409
    assert events(app, "evidence.") == ["evidence.upload", "evidence.withdraw"]


def test_withdraw_needs_reason_and_owner(app, client, users, release):
    client.login(users["dcc"])
    upload(client, release, 1)
    row = files(app)[0]
    assert client.post_form(f"/evidence/{row.id}/withdraw", {"reason": ""}).status_code == 422
    client.logout()
    client.login(users["secas"])
    assert client.post_form(f"/evidence/{row.id}/withdraw", {"reason": "mine now"}).status_code == 403
    assert files(app)[0].withdrawn_at is None


def test_replace_withdraws_the_old_file(app, client, users, release):
    client.login(users["dcc"])
    upload(client, release, 1)
    old = files(app)[0]
    response = upload(client, release, 1, content=PDF + b"v2", name="report-v2.pdf", replaces=str(old.id))
    assert response.status_code == 303
    old_row, new_row = files(app)
    assert old_row.withdrawn_at is not None and "report-v2.pdf" in old_row.withdraw_reason
    assert new_row.replaces_id == old_row.id and new_row.withdrawn_at is None
    assert events(app, "evidence.") == ["evidence.upload", "evidence.replace"]


def test_statement_counts_as_evidence(app, client, users, release):
    client.login(users["dcc"])
    response = client.post_form(url(release, 3, "statement"), {"text": "Not needed: no TOC change."}, htmx=True)
    assert response.status_code == 200 and "no TOC change" in response.get_data(as_text=True)
    assert client.post_form(url(release, 3, "statement"), {"text": ""}).status_code == 422


def test_a_deferred_release_takes_no_evidence_until_it_is_replanned(app, client, users, make_release):
    release = make_release(Stage.DEFERRED)
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 409
    assert len(files(app)) == 0


# --- Large uploads: file bodies are read in big chunks, hashed on a helper thread (portal/criteria/storage.py) ---

LARGE_BOUNDARY = "----portalLargeUpload7f3a"
MARKER = b"--" + LARGE_BOUNDARY.encode()
# Bytes that look like (the start of) a boundary but are file content: each ends in a byte that rules it out.
LOOKALIKES = (b"\r\n" + MARKER + b"x",  # a whole marker after CRLF, then neither "--" nor a line break
              b"\r\n" + MARKER[:-1] + b"x",  # all but the marker's last byte
              b"\n" + MARKER + b" x",  # LF-only line break; trailing space, then no line break
              b"\r" + MARKER + b"-x",  # CR-only line break; one dash, not two
              b"x" + MARKER + b"\r\n",  # a marker with no line break before it
              b"\r\n--\r\n\r\r\n\n--x",  # line breaks and dashes only
              b"\r\n" + MARKER[:7] + b"x")


def large_body(token: str, content: bytes) -> bytes:
    head = (f"--{LARGE_BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{LARGE_BOUNDARY}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nLarge report\r\n"
            f"--{LARGE_BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"large.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    return head + content + f"\r\n--{LARGE_BOUNDARY}--\r\n".encode()


def post_large(client, release, number: int, content: bytes, stream_class=io.BytesIO):
    body = large_body(client.csrf_token(), content)
    return client.post(url(release, number), input_stream=stream_class(body), content_length=len(body),
                       content_type=f"multipart/form-data; boundary={LARGE_BOUNDARY}")


def content_with_lookalikes(chunk: int, seed: int = 2021) -> bytes:
    """A PDF of random bytes with a boundary lookalike every chunk + 1 bytes, taking the lookalikes in turn: their
    offsets from the reader's chunk edges keep shifting, so each kind straddles chunk edges at many offsets."""
    rng = random.Random(seed)
    parts = [b"%PDF-1.4\n"]
    for i in range(len(LOOKALIKES) * chunk):
        lookalike = LOOKALIKES[i % len(LOOKALIKES)]
        parts += [rng.randbytes(chunk + 1 - len(lookalike)), lookalike]
    return b"".join(parts) + rng.randbytes(12345)


def stored_bytes(app, row) -> bytes:
    return (Path(app.config["UPLOAD_FOLDER"]) / row.sha256[:2] / row.sha256).read_bytes()


def upload_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("upload-")]


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks and helper thresholds small enough that a test-sized file crosses hundreds of chunk edges and
    uses the hashing and write-back helpers."""
    monkeypatch.setattr(storage, "FILE_CHUNK", 500)
    monkeypatch.setattr(storage, "HELPER_AFTER", 64 * 1024)
    monkeypatch.setattr(storage, "WRITEBACK_EVERY", 256 * 1024)
    return 500


def test_large_upload_with_boundary_lookalikes_across_chunk_edges_is_stored_byte_identical(
        app, client, users, release, small_chunks):
    content = content_with_lookalikes(small_chunks)
    client.login(users["dcc"])
    response = post_large(client, release, 1, content)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    [row] = files(app)
    assert row.size == len(content) and row.sha256 == hashlib.sha256(content).hexdigest()
    assert stored_bytes(app, row) == content
    assert upload_threads() == []  # the helpers have finished


def test_large_upload_read_in_driblets_is_stored_byte_identical(app, client, users, release, small_chunks):
    """A request stream that returns a few bytes at a time (a slow client): short reads hold the chunk edge."""

    class Driblets(io.BytesIO):
        def __init__(self, body: bytes):
            super().__init__(body)
            self.sizes = random.Random(7)

        def readinto(self, buffer):
            return super().readinto(memoryview(buffer)[:self.sizes.randint(1, 40)])

        def read(self, size=-1):
            return super().read(min(size if size >= 0 else 1 << 30, self.sizes.randint(1, 40)))

    content = content_with_lookalikes(small_chunks)[:200_000]
    client.login(users["dcc"])
    assert post_large(client, release, 1, content, Driblets).status_code == 303
    [row] = files(app)
    assert stored_bytes(app, row) == content and row.sha256 == hashlib.sha256(content).hexdigest()


def test_large_upload_stores_what_werkzeugs_own_parser_reads(app, client, users, release):
    """With the real chunk size: the stored file is what werkzeug's unmodified parser makes of the same body."""
    content = content_with_lookalikes(500)
    body = large_body("token", content)
    _, parsed = MultiPartParser().parse(io.BytesIO(body), LARGE_BOUNDARY.encode(), len(body))
    assert parsed["file"].read() == content
    client.login(users["dcc"])
    assert post_large(client, release, 1, content).status_code == 303
    [row] = files(app)
    assert stored_bytes(app, row) == content


def parse_into_temp_files(tmp_path, body: bytes, **parser_options):
    """Parse a multipart body as the app does, each file into a HashingTempFile in tmp_path."""
    def temp_file(**_):
        return storage.HashingTempFile(tmp_path)

    return storage.UploadMultiPartParser(temp_file, **parser_options).parse(
        io.BytesIO(body), LARGE_BOUNDARY.encode(), len(body))


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_parser_reads_every_body_as_werkzeug_does(tmp_path, small_chunks, newline):
    """Unit test of the parser: two file parts and fields around them, the files' sizes changing a byte at a time
    over a whole chunk, so that each boundary straddles a chunk edge at every offset; read as werkzeug's own
    parser reads them (in one piece: these bodies are shorter than its 64 KB reads)."""
    rng = random.Random(5)
    nl = newline.encode()

    def part(name: str, value: bytes, filename: str | None = None) -> bytes:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        return b"--" + LARGE_BOUNDARY.encode() + nl + f"Content-Disposition: {disposition}".encode() + nl + nl + value + nl

    lookalikes = content_with_lookalikes(small_chunks)[:6000]
    for extra in range(small_chunks):
        first, second = rng.randbytes(3 * small_chunks + extra), lookalikes[:len(lookalikes) - extra // 2]
        if newline == "\n":  # a CR before an LF-only boundary would make a CRLF one
            first, second = first.rstrip(b"\r"), second.rstrip(b"\r")
        body = (b"preamble" + nl + part("description", b"Two files") + part("first", first, "a.pdf")
                + part("between", b"fields") + part("second", second, "b.pdf") + part("last", b"end")
                + b"--" + LARGE_BOUNDARY.encode() + b"--" + nl + b"epilogue")
        form, parsed = parse_into_temp_files(tmp_path, body, buffer_size=256)
        stock_form, stock_files = MultiPartParser().parse(io.BytesIO(body), LARGE_BOUNDARY.encode(), len(body))
        assert list(form.items(multi=True)) == list(stock_form.items(multi=True))
        for name, content in (("first", first), ("second", second)):
            assert stock_files[name].read() == content
            assert parsed[name].read() == content
            assert parsed[name].stream.sha256 == hashlib.sha256(content).hexdigest()
            parsed[name].close()
    assert upload_threads() == [] and list((tmp_path / storage.TMP_DIR).iterdir()) == []


def test_a_read_ending_inside_the_closing_boundary_adds_no_stray_byte(tmp_path):
    r"""werkzeug 3.1.9's decoder (pallets/werkzeug#3285) gives a file a stray "\r" when a read ends just after
    "\r\n--boundary-". Bodies whose closing boundary passes over the end of the first big chunk, a byte at a time."""
    head = large_body("token", b"")[:-len(f"\r\n--{LARGE_BOUNDARY}--\r\n")]
    chunk_end = 64 * 1024 + storage.FILE_CHUNK  # werkzeug's first read, then the first big chunk
    for shift in range(-len(MARKER) - 8, 8):
        content = b"%PDF-1.4\n" + b"x" * (chunk_end + shift - len(head) - len(b"\r\n" + MARKER + b"-") - 9)
        _, parsed = parse_into_temp_files(tmp_path, large_body("token", content))
        assert parsed["file"].read() == content
        parsed["file"].close()


def test_failed_early_write_back_fails_the_upload(app, client, users, release, small_chunks, monkeypatch):
    """The helper fdatasyncs the temp file as it grows; if that fails, the upload must not be stored."""
    def failing(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(storage.os, "fdatasync", failing)
    client.login(users["dcc"])
    response = post_large(client, release, 1, PDF + random.Random(1).randbytes(1024 * 1024))
    assert response.status_code == 500
    assert files(app) == [] and stored_files(app) == [] and events(app, "evidence.") == []
    assert upload_threads() == []


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_large_upload_over_the_limit_is_refused_and_cleaned_up(app, client, users, release, small_chunks, declared):
    """Over MAX_CONTENT_LENGTH: refused up front when the length is declared, and while the file is being read
    when it is not."""
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    client.login(users["dcc"])
    body = large_body(client.csrf_token(), PDF + b"0" * (1024 * 1024))
    # A chunked request has no length: the server de-chunks it and marks its input stream as terminated.
    chunked = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True}
    response = client.post(url(release, 1), input_stream=io.BytesIO(body), environ_overrides={} if declared else chunked,
                           content_type=f"multipart/form-data; boundary={LARGE_BOUNDARY}")
    assert response.status_code == 413
    assert files(app) == [] and stored_files(app) == [] and upload_threads() == []
    assert list((Path(app.config["UPLOAD_FOLDER"]) / storage.TMP_DIR).glob("*")) == []
