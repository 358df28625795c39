"""A RID version as the document SECAS publishes: the same rid_view() shape the release page shows, laid out as the
real RID (About this document, sections 1–6 with their introductions, the appendices) in PDF and in DOCX."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from weasyprint import HTML

from ..releases import rid_text
from ..releases.models import Release, RidVersion
from ..releases.rid_view import rid_view
from ..releases.snapshot import rid_snapshot
from ..timeutil import today

WORDING = rid_text.WORDING
TICK = "✓"

def rid_day(value: dt.date | str | None) -> str:
    """A date as the RID writes it: "14 Aug 2020"."""
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return f"{value.day} {value:%b %Y}"


@dataclass
class RidDocumentData:
    """What one published RID shows: the RID itself, its version history up to it, and its header."""
    release_name: str
    code: str
    version: str  # "1.0", or "Draft" for the live RID
    issued_on: dt.date
    rid: dict[str, Any]
    versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Release Implementation Document: {self.release_name}"

    @property
    def version_label(self) -> str:
        return f"Version {self.version}" if self.version[0].isdigit() else self.version

    @property
    def filename_stem(self) -> str:
        return f"rid-{self.code}-v{self.version}" if self.version[0].isdigit() else f"rid-{self.code}-draft"


def _history(versions: list[RidVersion]) -> list[dict[str, Any]]:
    return [{"number": v.number, "issued_on": v.issued_on, "change_note": v.change_note,
             "panel_meeting_on": v.panel_meeting_on, "panel_minute_ref": v.panel_minute_ref} for v in versions]


def version_document(release: Release, version: RidVersion) -> RidDocumentData:
    """A stored RID version (its snapshot) as a document; its history is the versions up to it."""
    history = [v for v in release.rid_versions if (v.major, v.minor) <= (version.major, version.minor)]
    return RidDocumentData(release.name, release.code, version.number, version.issued_on,
                           rid_view(version.snapshot), _history(history))


def live_document(release: Release) -> RidDocumentData:
    """The RID as it stands now (the working draft after the last version issued)."""
    current = release.current_rid
    label = f"Working draft after version {current.number}" if current else "Working draft"
    return RidDocumentData(release.name, release.code, label, today(),
                           rid_view(release.rid_live or rid_snapshot(release)), _history(release.rid_versions))


def document_html(doc: RidDocumentData) -> str:
    # Rendered without the request's context (no signed-in user, no page chrome): the document is the same for
    # everyone, and the baseline's copy is rendered inside the baseline's transaction.
    return current_app.jinja_env.get_template("document/rid.html").render(
        doc=doc, rid=doc.rid, day=rid_day, tick=TICK, change_text=_change_text)


def header_scopes(document, pdf) -> None:
    """WeasyPrint's finisher: give each table header its PDF/UA scope (/Column in the table's head, /Row in its
    body, as the HTML's scope="col" / scope="row" say), besides the cells' /Headers WeasyPrint already writes."""
    import pydyf

    def parent(element):
        reference = element.get("P")
        if reference is None:
            return None
        number = int((reference.decode() if isinstance(reference, bytes) else str(reference)).split()[0])
        return pdf.objects[number] if 0 <= number < len(pdf.objects) else None

    for element in list(pdf.objects):
        if isinstance(element, pydyf.Dictionary) and element.get("S") == "/TH":
            row = parent(element)
            group = parent(row) if isinstance(row, pydyf.Dictionary) else None
            scope = "/Column" if isinstance(group, pydyf.Dictionary) and group.get("S") == "/THead" else "/Row"
            attributes = element.get("A")
            if not isinstance(attributes, pydyf.Dictionary):
                attributes = element["A"] = pydyf.Dictionary({"O": "/Table"})
            attributes["Scope"] = scope


def write_tagged_pdf(html: str) -> bytes:
    """Tagged PDF (PDF/UA-1: headings, lists, tables with headers and their scope, reading order, the document's
    language) so that a screen reader can follow it."""
    return HTML(string=html).write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True, finisher=header_scopes)


def render_pdf(doc: RidDocumentData) -> bytes:
    return write_tagged_pdf(document_html(doc))


# --- DOCX ---------------------------------------------------------------------------------------------

def _page_field(paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) in the paragraph: Word fills in the number on each page."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, instruction), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text == "1":
            element = OxmlElement("w:t")
            element.text = text
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {text} "
        run._r.append(element)


def _table(document, caption: str, header: list[str], rows: list[list[str]]):
    """A table with its caption above it and a header row repeated on each page; rows never split."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    document.add_paragraph(caption, style="Caption")
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row):
            cell.text = text
    for n, row in enumerate(table.rows):
        properties = row._tr.get_or_add_trPr()
        cant_split = OxmlElement("w:cantSplit")
        properties.append(cant_split)
        if n == 0:
            properties.append(OxmlElement("w:tblHeader"))
    return table


def render_docx(doc: RidDocumentData) -> bytes:
    """The same document in Word: headings as Word headings, tables with header rows, the version and date in the
    header, page numbers in the footer."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    rid = doc.rid
    d = docx.Document()
    d.core_properties.title = doc.title
    d.core_properties.language = "en-GB"
    d.core_properties.author = "SECAS"
    section = d.sections[0]
    header = section.header.paragraphs[0]
    header.text = f"{doc.title}\t\t{doc.version_label}, {rid_day(doc.issued_on)}"
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("Page ")
    _page_field(footer, "PAGE")
    footer.add_run(" of ")
    _page_field(footer, "NUMPAGES")

    def p(text: str | None, style: str | None = None) -> None:
        if text:
            d.add_paragraph(text, style=style)

    d.add_heading(doc.title, level=0)
    p(f"{doc.version_label}, {rid_day(doc.issued_on)}")
    d.add_heading("About this document", level=1)
    p(rid["notes"]["about"])

    d.add_heading("1. Scope", level=1)
    d.add_heading("Approved Modification Proposals", level=2)
    for e in rid["scope_approved"]:
        p(_scope_line(e), "List Bullet")
    p(rid["derived"]["approved"])
    p(rid["notes"]["approved_mps_note"])
    if rid["scope_targeted"] or rid["notes"]["targeted_mps_note"]:
        d.add_heading("Targeted Modification Proposals", level=2)
        if rid["scope_targeted"]:
            p(WORDING["targeted"])
        for e in rid["scope_targeted"]:
            p(_scope_line(e), "List Bullet")
        p(rid["notes"]["targeted_mps_note"])
    d.add_heading("DCC Change Requests", level=2)
    for cr in rid["change_requests"]:
        p(f"{cr['reference']} ‘{cr['title']}’", "List Bullet")
    p(rid["derived"]["change_requests"])
    p(rid["notes"]["change_requests_note"])

    d.add_heading("2. Impacts", level=1)
    p(WORDING["impacts"])
    d.add_heading("SEC Party and DCC impacts", level=2)
    matrix = rid["participant_matrix"]
    _table(d, "Participant impact matrix", ["Modification", *matrix["columns"]],
           [[r["mp"], *(TICK if on else "" for on in r["cells"])] for r in matrix["rows"]])
    p(WORDING["summaries"])
    for heading, column, groups in (("SEC Party impacts", "Participant", rid["party_summaries"]),
                                    ("DCC impacts", "Area impacted", rid["dcc_summaries"])):
        d.add_heading(heading, level=3)
        _table(d, heading, [column, "Summary of impacts"],
               [[g["subject"], "\n".join(f"• {s['text']}" for s in g["items"])] for g in groups])
    d.add_heading("SEC document impacts", level=2)
    if rid["documents_updated"]:
        p(WORDING["documents"])
        for doc_row in rid["documents_updated"]:
            p(f"{doc_row['name']} ‘{doc_row['title']}’", "List Bullet")
        p(WORDING["documents_matrix"])
    matrix = rid["document_matrix"]
    _table(d, "SEC document impact matrix", ["Document", *matrix["columns"]],
           [[r["name"], *(TICK if on else "" for on in r["cells"])] for r in matrix["rows"]])
    p(rid["notes"]["document_impacts_note"])
    p(WORDING["documents_outro"])
    d.add_heading("Other Code impacts", level=2)
    for o in rid["other_code_impacts"]:
        p(f"{o['code']}: {o['description']}", "List Bullet")
    p(rid["derived"]["other_codes"])
    p(rid["notes"]["other_codes_note"])

    d.add_heading("3. Implementation timeline", level=1)
    p(WORDING["timeline"])
    _table(d, "Release implementation timetable", ["Date", "Event", "Notes"],
           [[rid_day(m["due_on"]), m["event"], m["notes"]] for m in rid["milestones"]])

    d.add_heading("4. Test strategy", level=1)
    p(rid["notes"]["test_strategy_note"])
    p(rid["notes"]["user_testing_note"])
    if rid["test_phases"]:
        _table(d, "Test phases", ["Phase", "Required", "Reason"],
               [[f"{t['name']} ({t['phase']})", "Required" if t["applies"] else "Not required", t["reason"]]
                for t in rid["test_phases"]])

    d.add_heading("5. Costs", level=1)
    p(WORDING["costs"])
    for group in rid["cost_groups"]:
        d.add_heading(f"{group['party']} costs", level=2)
        _table(d, f"{group['party']} costs", ["Cost", "Amount", "Already budgeted"],
               [[c["description"], c["amount"], "Yes" if c["already_budgeted"] else "No"]
                for c in group["items"]])
        p(rid["notes"]["dcc_costs_note"] if group["party"] == "DCC" else rid["notes"]["secas_costs_note"])

    d.add_heading("6. Acceptance criteria", level=1)
    for line in WORDING["criteria"]:
        p(line)
    d.add_heading("Operational acceptance criteria", level=2)
    for c in rid["criteria"]:
        p(f"{c['number']}. {c['text']}{' (withdrawn)' if c.get('withdrawn') else ''}")

    d.add_heading("Appendix 1: Version control", level=1)
    _table(d, "Document history", ["Version", "Date", "Changes"],
           [[v["number"], rid_day(v["issued_on"]), _change_text(v)] for v in doc.versions])
    d.add_heading("Appendix 2: Glossary", level=1)
    p(WORDING["glossary"])
    _table(d, "Glossary", ["Acronym", "Full term"], [[g["acronym"], g["term"]] for g in rid["glossary"]])

    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _scope_line(entry: dict[str, Any]) -> str:
    line = f"{entry['mp']} ‘{entry['title']}’"
    if entry.get("summary"):
        line += f" {entry['summary']}"
    if entry.get("cutoff_date"):
        line += f" (decision cut-off date {rid_day(entry['cutoff_date'])})"
    return line


def _change_text(version: dict[str, Any]) -> str:
    text = version["change_note"]
    if version.get("panel_meeting_on"):
        text += f" Panel meeting of {rid_day(version['panel_meeting_on'])}, minute {version['panel_minute_ref']}."
    return text
