"""What the PDF tests read from a document: its text as one line, and on which pages each table row was laid out."""
from __future__ import annotations

import io

from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    """The PDF's text with every run of white space made one space (lines broken anywhere still match)."""
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def pages_of_rows(document) -> dict[int, set[int]]:
    """For a rendered WeasyPrint document: each body table row's element and the pages its boxes fell on.
    Header rows are left out (a table's head repeats on every page it crosses)."""
    pages_of: dict[int, set[int]] = {}

    def walk(box, page, in_head=False):
        in_head = in_head or getattr(box, "element_tag", None) == "thead"
        if getattr(box, "element_tag", None) == "tr" and box.element is not None and not in_head:
            pages_of.setdefault(id(box.element), set()).add(page)
        for child in getattr(box, "children", ()):
            walk(child, page, in_head)
    for number, page in enumerate(document.pages):
        walk(page._page_box, number)
    return pages_of
