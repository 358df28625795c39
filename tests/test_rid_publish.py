"""The RID as a document: each version (and the live draft) downloads as a tagged PDF and a DOCX laid out as the
real RID; the baselined version's PDF is stored when it is baselined and served byte for byte ever after."""
from __future__ import annotations

import hashlib
import io
import re

import docx
import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from weasyprint import HTML

from decisions_support import client_for, count
from portal.access import Role
from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.document.models import RidDocument
from portal.document.render import document_html, version_document
from pdf_helpers import pages_of_rows, pdf_text
from portal.extensions import db
from portal.releases.models import Criterion, Release, RidVersion
from portal.releases.services import update_criterion

MEETING = {"meeting_on": ["14", "8", "2020"], "minute_ref": "84/03"}

# The RID's headings and the first words of their introductions, in the order the real RID gives them.
IN_ORDER = [
    "About this document", "This document is a Smart Energy Code (SEC) Release Implementation Document (RID).",
    "1. Scope", "Approved Modification Proposals", "There are no modifications currently approved for this release.",
    "Targeted Modification Proposals", "The following Modification Proposals will be included in this release",
    "DCC Change Requests", "There are no DCC Change Requests planned to be implemented alongside this SEC Release.",
    "2. Impacts", "This section lists the impacts that the changes included in this release will have",
    "SEC Party and DCC impacts", "Participant impact matrix", "The impacts on the different participants",
    "SEC Party impacts", "DCC impacts", "SEC document impacts",
    "The following documents will be updated in this release:", "SEC document impact matrix",
    "The SEC document impacts for MP111 are still under investigation.", "Other Code impacts",
    "No other Codes are impacted as a result of this release.",
    "3. Implementation timeline", "This section lists the planned timeline for the implementation of this release.",
    "Release implementation timetable", "4. Test strategy", "This release will not impact the DCC Systems",
    "5. Costs", "This section summarises the costs that will be incurred by the DCC and SECAS",
    "DCC costs", "estimated to be £340,000", "SECAS costs", "around £1,200",
    "6. Acceptance criteria", "The following criteria will need to be met before the release can go live.",
    "Operational acceptance criteria", "1. The DCC has brought to readiness",
    "10. SECAS has brought to readiness", "Appendix 1: Version control", "Document history",
    "0.1 7 Aug 2020 First draft issued to the SEC Panel for comment.", "Appendix 2: Glossary",
    "This table lists all the acronyms used in this document", "SECAS Smart Energy Code Administrator and Secretariat",
]



def _in_order(text: str, parts: list[str]) -> None:
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} not found after {text[max(0, at - 80):at]!r}"
        at = found + len(part)


@pytest.fixture
def release(make_release):
    return make_release()


@pytest.fixture
def dcc(app, users):
    return client_for(app, users["dcc"])


def test_a_version_downloads_as_a_pdf_that_reads_as_the_rid(dcc, release):
    response = dcc.get(f"/releases/{release.code}/rid/0.1.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="rid-{release.code}-v0.1.pdf"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    text = pdf_text(response.data)
    _in_order(text, IN_ORDER)
    for mp in ("MP092 ‘New Planned Maintenance methodology’", "MP095", "MP111", "MP122 ‘Operational Metrics’"):
        assert mp in text
    # The matrices keep their ticks: MP122 impacts only the DCC; Section J only by MP095.
    assert "MP092 ✓ ✓ ✓ ✓ ✓" in text and re.search(r"MP122 ✓ (?!✓)", text)
    assert "Section J ✓ " in text
    for date in ("14 Aug 2020", "26 Jan 2021", "2 Feb 2021", "12 Feb 2021", "25 Feb 2021"):
        assert date in text, date
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text)
    # Each page's header names the version and its date; each page is numbered.
    pages = PdfReader(io.BytesIO(response.data)).pages
    assert len(pages) > 1
    for number, page in enumerate(pages, 1):
        words = " ".join(page.extract_text().split())
        assert "Version 0.1, 7 Aug 2020" in words and f"Page {number} of {len(pages)}" in words


def test_the_pdf_is_tagged_for_screen_readers(dcc, release):
    data = dcc.get(f"/releases/{release.code}/rid/0.1.pdf").data
    catalog = PdfReader(io.BytesIO(data)).trailer["/Root"]
    assert "/StructTreeRoot" in catalog, "no structure tree: a screen reader sees no headings or tables"
    assert catalog.get("/Lang") == "en-GB"
    assert bool(catalog["/MarkInfo"]["/Marked"])
    tags: set[str] = set()
    header_ids: set[str] = set()
    cell_headers: list[list[str]] = []
    scopes: list[str] = []

    def walk(node, depth=0):
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            for child in node:
                walk(child, depth + 1)
        elif hasattr(node, "get") and depth < 80:
            tags.add(node.get("/S"))
            if node.get("/S") == "/TH":
                header_ids.add(str(node["/ID"]))
                scopes.append(str(node["/A"].get_object().get("/Scope")))
            if node.get("/S") == "/TD":
                cell_headers.append([str(h) for h in node["/A"].get_object().get("/Headers", [])])
            walk(node.get("/K", []), depth + 1)
    walk(catalog["/StructTreeRoot"])
    assert {"/H1", "/H2", "/H3", "/Table", "/TH", "/TD", "/L", "/LI"} <= tags, sorted(t for t in tags if t)
    # Every data cell names its headers (from the HTML's scope="col" / scope="row"): its column's, and in the
    # matrices its row's too.
    assert cell_headers and all(headers and set(headers) <= header_ids for headers in cell_headers)
    assert sum(len(headers) == 2 for headers in cell_headers) > 20
    # Each header says what it heads: a column (in the table's head) or a row (the matrices' modifications).
    assert set(scopes) == {"/Column", "/Row"} and scopes.count("/Row") > 20


def test_no_table_row_is_split_across_pages(app, release):
    with app.test_request_context():
        rel = db.session.get(Release, release.id)
        doc = version_document(rel, rel.rid_versions[0])
        doc.rid["milestones"] = [dict(m, notes=f"Note {n}: " + "a long note that takes several lines. " * 12)
                                 for n, m in enumerate(doc.rid["milestones"] * 6)]
        document = HTML(string=document_html(doc)).render()
    pages_of = pages_of_rows(document)
    assert len(document.pages) > 6 and len(pages_of) > 40
    assert all(len(pages) == 1 for pages in pages_of.values()), "a table row runs over a page break"


def test_a_version_downloads_as_a_word_document_with_the_same_sections(dcc, release):
    response = dcc.get(f"/releases/{release.code}/rid/0.1.docx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert response.headers["Content-Disposition"] == f'attachment; filename="rid-{release.code}-v0.1.docx"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    document = docx.Document(io.BytesIO(response.data))
    headings = [(p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert [t for s, t in headings if s == "Heading 1"] == [
        "About this document", "1. Scope", "2. Impacts", "3. Implementation timeline", "4. Test strategy",
        "5. Costs", "6. Acceptance criteria", "Appendix 1: Version control", "Appendix 2: Glossary"]
    text = " ".join(p.text for p in document.paragraphs)
    _in_order(text, [part for part in IN_ORDER if not part.startswith(("0.1 ", "SECAS Smart", "estimated", "around",
                                                                       "Participant impact", "SEC document impact",
                                                                       "Release implementation", "Document history"))])
    tables = {t.rows[0].cells[0].text: [[c.text for c in row.cells] for row in t.rows] for t in document.tables}
    assert tables["Modification"][0] == ["Modification", "Suppliers", "Electricity Networks", "Gas Networks",
                                         "Other SEC Parties", "DCC"]
    assert ["MP122", "", "", "", "", "✓"] in tables["Modification"]
    assert ["Section J", "", "✓", "", ""] in tables["Document"]
    assert ["14 Aug 2020", "Panel baselines RID", "The Panel will review the RID and baseline the document."] \
        in tables["Date"]
    assert ["0.1", "7 Aug 2020", "First draft issued to the SEC Panel for comment."] in tables["Version"]
    amounts = [row[1] for t in document.tables if t.rows[0].cells[0].text == "Cost" for row in
               [[c.text for c in r.cells] for r in t.rows]]
    assert "estimated to be £340,000" in amounts and "around £1,200" in amounts
    assert len(tables["Acronym"]) == 14
    section = document.sections[0]
    assert "Version 0.1, 7 Aug 2020" in section.header.paragraphs[0].text
    footer_xml = section.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml  # page numbers, filled in by Word
    assert document.core_properties.language == "en-GB"


def test_the_live_draft_downloads_too(dcc, release):
    pdf = dcc.get(f"/releases/{release.code}/rid.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "Working draft after version 0.1" in pdf_text(pdf.data)
    word = dcc.get(f"/releases/{release.code}/rid.docx")
    assert word.status_code == 200
    assert "Working draft after version 0.1" in docx.Document(io.BytesIO(word.data)).sections[0].header.paragraphs[0].text


@pytest.mark.parametrize("path", ["rid/9.9.pdf", "rid/9.9.docx", "rid/0.2.pdf"])
def test_an_unknown_version_is_not_found(dcc, release, path):
    assert dcc.get(f"/releases/{release.code}/{path}").status_code == 404
    assert dcc.get(f"/releases/no-such-release/{path}").status_code == 404


def test_the_version_history_links_each_version_to_its_documents(dcc, release):
    page = dcc.get(f"/releases/{release.code}").get_data(as_text=True)
    assert f'href="/releases/{release.code}/rid/0.1.pdf"' in page
    assert f'href="/releases/{release.code}/rid/0.1.docx"' in page
    assert f'href="/releases/{release.code}/rid.pdf"' in page and f'href="/releases/{release.code}/rid.docx"' in page


def _baseline(app, users, release):
    response = client_for(app, users["panel_chair"]).post_form(f"/releases/{release.code}/baseline", MEETING)
    assert response.status_code == 303


def test_baselining_stores_the_pdf_and_serves_it_byte_for_byte_after_the_rid_changes(app, users, release, dcc):
    _baseline(app, users, release)
    with app.app_context():
        version = db.session.scalar(sa.select(RidVersion).where(RidVersion.is_baseline))
        stored = db.session.scalar(sa.select(RidDocument).where(RidDocument.rid_version_id == version.id))
        assert stored is not None and stored.kind == "pdf"
        assert hashlib.sha256(stored.content).hexdigest() == stored.sha256
        content, sha256 = stored.content, stored.sha256
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "rid.document_stored"))
        assert event is not None and sha256 in event.summary and event.release_id == release.id
    served = dcc.get(f"/releases/{release.code}/rid/1.0.pdf")
    assert served.status_code == 200 and served.data == content
    assert hashlib.sha256(served.data).hexdigest() == sha256
    text = pdf_text(served.data)
    assert "Version 1.0" in text and "Baselined by the SEC Panel. Panel meeting of 14 Aug 2020, minute 84/03." in text
    # The version's page shows the stored document's SHA-256.
    page = dcc.get(f"/releases/{release.code}/rid/1.0").get_data(as_text=True)
    assert sha256 in page

    # The RID changes after the baseline (a new version, 1.1): the baselined PDF is still the same bytes.
    with app.test_request_context():
        rel = db.session.get(Release, release.id)
        secas = db.session.get(User, users["secas"].id)
        criterion = db.session.scalar(sa.select(Criterion).filter_by(release_id=rel.id, number=7))
        update_criterion(secas, rel, criterion, text="The DCC has shown no detrimental impact on consumers.",
                         owner_role=Role.DCC, change_note="Criterion 7 reworded.")
        db.session.commit()
    again = dcc.get(f"/releases/{release.code}/rid/1.0.pdf")
    assert again.data == content
    newer = pdf_text(dcc.get(f"/releases/{release.code}/rid/1.1.pdf").data)
    assert "The DCC has shown no detrimental impact on consumers." in newer
    assert "1.1" in newer and "Criterion 7 reworded." in newer
    assert "The DCC has shown no detrimental impact" not in pdf_text(again.data)
    assert count(app, RidDocument) == 1  # only the baseline's document is stored


def test_a_refused_baseline_stores_no_document(app, users, release):
    response = client_for(app, users["panel_chair"]).post_form(
        f"/releases/{release.code}/baseline", {"meeting_on": ["14", "8", "2020"], "minute_ref": " "})
    assert response.status_code == 422
    assert count(app, RidDocument) == 0
    assert count(app, AuditEvent, AuditEvent.action == "rid.document_stored") == 0
