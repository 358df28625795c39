"""Reading the release page as a user sees it: its text, and the cells of a table row by the row's id."""
from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser


def page_text(html: str) -> str:
    """The page's visible words (tags and scripts removed, whitespace collapsed)."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


class _Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.row_id: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.row_id = dict(attrs).get("id")
            if self.row_id:
                self.rows[self.row_id] = []
        elif tag in ("td", "th") and self.row_id:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.row_id and self.cell is not None:
            self.rows[self.row_id].append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
            self.cell = None
        elif tag == "tr":
            self.row_id = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def row_cells(html: str, row_id: str) -> list[str]:
    """The text of each cell of the table row with this id (KeyError if the page has no such row)."""
    parser = _Rows()
    parser.feed(html)
    return parser.rows[row_id]
