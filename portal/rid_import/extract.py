"""A RID file as numbered lines of text, within fixed limits of size, pages and time (see LIMITS).

Plain text is read as UTF-8; a PDF through pypdf's layout mode (which keeps each table's columns where the page
put them); a DOCX through python-docx, once its zip has been checked, a table row as one line of cells."""
from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass, field

LIMITS = {
    "bytes": 20 * 1024 * 1024,        # the largest file read at all
    "pdf_pages": 200,
    "seconds": 20,                    # PDF text extraction stops after this long
    "pdf_content": 20 * 1024 * 1024,  # the pages' drawing instructions, unpacked (a RID page has some 50 kB)
    "docx_entries": 500,              # zip members in a DOCX
    "docx_uncompressed": 50 * 1024 * 1024,
    "lines": 20_000,
}


class NotARid(Exception):
    """The file cannot be read as a RID; the message says why, for the person who uploaded it."""


@dataclass
class Line:
    no: int
    raw: str
    cells: list[str] | None = None  # a DOCX table row

    @property
    def text(self) -> str:
        return " ".join(" | ".join(self.cells).split()) if self.cells is not None else " ".join(self.raw.split())


@dataclass
class Source:
    kind: str  # "text", "pdf" or "docx"
    lines: list[Line] = field(default_factory=list)


def _numbered(texts: list[str], kind: str) -> Source:
    if len(texts) > LIMITS["lines"]:
        raise NotARid(f"The document has more than {LIMITS['lines']:,} lines; a RID has a few hundred.")
    return Source(kind, [Line(n, t.rstrip("\n")) for n, t in enumerate(texts, start=1)])


def read_source(filename: str, data: bytes) -> Source:
    """The file's lines; NotARid with a plain message for anything that cannot be read."""
    if len(data) > LIMITS["bytes"]:
        raise NotARid(f"The file is larger than {LIMITS['bytes'] // 1024 // 1024} MB; a RID document must be at "
                      f"most {LIMITS['bytes'] // 1024 // 1024} MB (a scan has no text to read: upload the PDF or "
                      "DOCX the RID was written as).")
    if not data.strip():
        raise NotARid("The file is empty.")
    name = (filename or "").lower()
    if data.startswith(b"%PDF") or name.endswith(".pdf"):
        return _pdf(data)
    if data.startswith(b"PK") or name.endswith(".docx"):
        return _docx(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotARid("The file is not a PDF, a Word document (.docx) or UTF-8 text.") from None
    if "\x00" in text:
        raise NotARid("The file is not a PDF, a Word document (.docx) or UTF-8 text.")
    return _numbered(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), "text")


def _pdf(data: bytes) -> Source:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged files make pypdf chatty
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise NotARid("The PDF is encrypted (password-protected); upload an unprotected copy.")
        pages = reader.pages
        if len(pages) > LIMITS["pdf_pages"]:
            raise NotARid(f"The PDF has {len(pages)} pages; a RID has at most {LIMITS['pdf_pages']}.")
        started, texts, content = time.monotonic(), [], 0
        for page in pages:
            # Extraction time grows with a page's instructions: bound them before reading any text.
            contents = page.get_contents()
            content += len(contents.get_data()) if contents is not None else 0
            if content > LIMITS["pdf_content"]:
                raise NotARid(f"The PDF's pages hold more than {LIMITS['pdf_content'] // 2 ** 20} MB of drawing "
                              "instructions; a RID holds far less. It was not read.")
            if time.monotonic() - started > LIMITS["seconds"]:
                raise NotARid(f"Reading the PDF took more than {LIMITS['seconds']} seconds; it is too complex "
                              "to be a RID.")
            texts.extend(page.extract_text(extraction_mode="layout").split("\n"))
    except NotARid:
        raise
    except LimitReachedError:
        raise NotARid("The PDF unpacks to more data than a RID could hold; it was not read.") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
            RecursionError, AssertionError, ZeroDivisionError) as err:
        raise NotARid(f"The PDF is damaged and cannot be read ({type(err).__name__}).") from None
    if not any(t.strip() for t in texts):
        raise NotARid("This PDF has no text; it may be a scan. Upload the PDF the RID was written as, or its DOCX.")
    return _numbered(texts, "pdf")


def _docx(data: bytes) -> Source:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise NotARid("The file is not a Word document (.docx) that can be read: its zip is damaged.") from None
    if len(entries) > LIMITS["docx_entries"]:
        raise NotARid(f"The Word document holds {len(entries)} parts; a RID holds far fewer. It was not opened.")
    if sum(e.file_size for e in entries) > LIMITS["docx_uncompressed"]:
        raise NotARid("The Word document would unpack to more than "
                      f"{LIMITS['docx_uncompressed'] // 1024 // 1024} MB; it was not opened.")
    if "word/document.xml" not in archive.namelist():
        raise NotARid("The file is a zip but not a Word document (.docx).")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    try:
        document = docx.Document(io.BytesIO(data))
        texts: list[str] = []
        rows: dict[int, list[str]] = {}
        for block in document.element.body.iterchildren():
            tag = block.tag.rsplit("}", 1)[-1]
            if tag == "p":
                paragraph = Paragraph(block, document)
                numbered = block.pPr is not None and block.pPr.numPr is not None  # a list item by direct numbering
                styled = paragraph.style is not None and "List" in (paragraph.style.name or "")
                bullet = "• " if (numbered or styled) and not paragraph.text.lstrip().startswith("•") else ""
                texts.extend(["", bullet + paragraph.text])
            elif tag == "tbl":
                texts.append("")
                for row in Table(block, document).rows:
                    rows[len(texts)] = [" ".join(c.text.replace("•", "\n•").split("\n")).strip()
                                        for c in row.cells]
                    texts.append("")
                texts.append("")
    except Exception as err:  # python-docx raises many kinds on a malformed part
        raise NotARid(f"The Word document is damaged and cannot be read ({type(err).__name__}).") from None
    source = _numbered(texts, "docx")
    for index, cells in rows.items():
        source.lines[index].cells = [" ".join(c.split()) for c in cells]
    return source
