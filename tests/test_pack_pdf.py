"""The decision pack PDF as a document: tagged for screen readers, one date style, rows never split across pages,
and the whole RID summary (impacts, test strategy, glossary)."""
import io
import re

import pytest
from pypdf import PdfReader
from weasyprint import HTML

from pdf_helpers import pages_of_rows, pdf_text
from portal.extensions import db
from portal.pack.export import build_pack
from portal.pack.pdf import pack_html
from portal.releases.models import Release, Stage


@pytest.fixture
def pdf(client, users, make_release):
    release = make_release(Stage.EVIDENCE)
    client.login(users["secas"])
    response = client.get(f"/releases/{release.code}/pack.pdf")
    assert response.status_code == 200
    return response.data



def test_the_pdf_is_tagged_with_its_language(pdf):
    catalog = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert "/StructTreeRoot" in catalog, "no structure tree: a screen reader sees no headings or tables"
    assert catalog.get("/Lang") == "en-GB"
    assert bool(catalog["/MarkInfo"]["/Marked"])
    tags: set[str] = set()

    def walk(node, depth=0):
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            for child in node:
                walk(child, depth + 1)
        elif hasattr(node, "get") and depth < 60:
            tags.add(node.get("/S"))
            walk(node.get("/K", []), depth + 1)
    walk(catalog["/StructTreeRoot"])
    assert {"/H1", "/H2", "/H3", "/Table", "/TH", "/TD"} <= tags, sorted(t for t in tags if t)


def test_dates_read_one_way(pdf):
    text = pdf_text(pdf)
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text), re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text)[:5]
    assert "25 February 2021" in text  # the planned go-live, as the rest of the pack writes dates


def test_the_rid_summary_has_impacts_test_strategy_and_glossary(pdf):
    text = pdf_text(pdf)
    for heading in ("Impacts on SEC Parties", "Impacts on SEC documents", "Other codes", "Test strategy",
                    "Glossary"):
        assert heading in text, heading
    assert "Smart Energy Code Administrator and Secretariat" in text  # a glossary term of the February 2021 RID


def test_no_table_row_is_split_across_pages(app, users, make_release):
    release = make_release(Stage.EVIDENCE)
    with app.test_request_context():
        for n, phase in enumerate(db.session.get(Release, release.id).test_phases):
            phase.reason = f"Reason {n}: " + "a long reason that takes many lines. " * 40  # rows near a page's end
        db.session.flush()
        document = HTML(string=pack_html(build_pack(db.session.get(Release, release.id)))).render()
    pages_of = pages_of_rows(document)
    assert len(document.pages) > 1 and len(pages_of) > 20
    assert all(len(pages) == 1 for pages in pages_of.values()), "a table row runs over a page break"
