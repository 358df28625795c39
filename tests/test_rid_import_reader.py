"""Reading a RID document into the RID's data: the February 2021 RID as extracted text, and files that are not a RID
(each refused with a message that says what was wrong)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from portal.releases import demo
from portal.rid_import.extract import LIMITS, NotARid
from portal.rid_import.reader import read_rid

FEB_2021 = Path("/work/shared/domain/rid-february-2021-sec-release.txt")
if not FEB_2021.exists():  # a checkout without the shared folder
    FEB_2021 = Path(__file__).parent / "data" / "rid-february-2021-sec-release.txt"


@pytest.fixture(scope="module")
def feb():
    return read_rid(FEB_2021.name, FEB_2021.read_bytes())


def test_the_february_2021_text_reads_with_no_warning(feb):
    assert feb.warnings == []
    assert feb.kind == "text"


def test_scope_every_mp_with_its_summary_and_page(feb):
    scope = feb.rid["scope"]
    assert [(e["mp"], e["title"], e["status"], e["summary"], e["url"]) for e in scope] == [
        (ref, title, "targeted", summary, url) for ref, title, summary, url in demo.MODIFICATIONS]
    assert feb.rid["change_requests"] == []
    notes = feb.rid["release"]["notes"]
    assert notes["targeted_mps_note"] == "No further modifications are expected to be added."
    assert notes["approved_mps_note"] == "" and notes["change_requests_note"] == ""


def test_both_matrices_tick_for_tick(feb):
    rid = feb.rid
    assert [g["name"] for g in rid["participant_groups"]] == demo.GROUPS
    assert rid["participant_impacts"] == sorted([mp, g] for mp, groups in demo.PARTICIPANT_MATRIX.items()
                                                for g in groups)
    assert [(d["name"], d["title"]) for d in rid["sec_documents"]] == demo.DOCUMENTS
    assert rid["document_impacts"] == sorted([mp, d] for d, mps in demo.DOCUMENT_MATRIX.items() for mp in mps)
    assert rid["release"]["notes"]["document_impacts_note"] == \
        "The SEC document impacts for MP111 are still under investigation."


def test_impact_summaries_by_participant_and_dcc_area(feb):
    summaries = feb.rid["impact_summaries"]
    assert [(s["subject"], s["text"]) for s in summaries if s["kind"] == "party"] == demo.PARTY_IMPACTS
    assert [(s["subject"], s["text"]) for s in summaries if s["kind"] == "dcc"] == demo.DCC_IMPACTS


def test_timeline_dates_events_notes_and_who_acts(feb):
    assert [(m["kind"], m["due_on"], m["event"], m["notes"], m["acting_role"]) for m in feb.rid["milestones"]] == [
        (str(kind), due.isoformat(), event, notes, str(role)) for kind, due, event, notes, role in demo.MILESTONES]
    assert feb.rid["release"]["planned_go_live"] == "2021-02-25"
    assert feb.rid["release"]["name"] == "February 2021 SEC Release"
    assert feb.rid["release"]["code"] == "feb-2021"


def test_test_strategy_and_phases(feb):
    notes = feb.rid["release"]["notes"]
    assert notes["test_strategy_note"].startswith(demo.NO_SYSTEM_TESTING)
    assert notes["test_strategy_note"].endswith("remit to monitor.")
    assert notes["user_testing_note"] == "There are no User testing impacts for this release."
    assert [(t["phase"], t["name"], t["applies"]) for t in feb.rid["test_phases"]] == [
        (phase, name, False) for phase, name in demo.TEST_PHASES]


def test_costs_with_amounts_qualifiers_and_budget(feb):
    costs = feb.rid["cost_items"]
    assert [(c["party"], c["amount_pence"], c["qualifier"], c["already_budgeted"]) for c in costs] == [
        (party, pence, qualifier, budgeted) for party, _, pence, budgeted, qualifier in demo.COSTS]
    notes = feb.rid["release"]["notes"]
    assert notes["dcc_costs_note"].startswith("None of the other modifications")
    assert notes["secas_costs_note"].startswith("This cost has already been accounted for")


def test_criteria_with_owners(feb):
    assert [(c["number"], c["owner_role"], c["text"]) for c in feb.rid["criteria"]] == [
        (n, str(role), text) for n, (role, text) in enumerate(demo.CRITERIA, start=1)]


def test_version_history_and_glossary(feb):
    assert feb.versions == [{"number": "0.1", "issued_on": "2020-08-07",
                             "change_note": "First draft issued to the SEC Panel for comment.",
                             "panel_meeting_on": None, "panel_minute_ref": None}]
    assert [(g["acronym"], g["term"]) for g in feb.rid["glossary"]] == demo.GLOSSARY


def test_about_and_every_section_lists_its_lines(feb):
    assert feb.rid["release"]["notes"]["about"].startswith("This document is a Smart Energy Code (SEC) Release")
    by_key = {s.key: s for s in feb.sections}
    assert all(by_key[k].items for k in ("about", "scope", "impacts", "timeline", "test", "costs", "criteria",
                                         "versions", "glossary"))
    mp092 = by_key["scope"].items[0]
    assert "MP092" in mp092.what and feb.lines[mp092.lines[0]].startswith("• MP092")


def test_a_line_that_is_no_part_of_the_rid_is_warned_of():
    text = FEB_2021.read_text(encoding="utf-8").replace(
        "implementation of this release. \n", "implementation of this release. \n\nPlease recycle this document.\n", 1)
    reading = read_rid("rid.txt", text.encode())
    assert [(w.text, w.why) for w in reading.warnings] == [
        ("Please recycle this document.", "This line was not recognised as part of any RID section.")]
    assert reading.lines[reading.warnings[0].line] == "Please recycle this document."


def test_more_mps_crs_and_glossary_terms_are_read():
    text = FEB_2021.read_text(encoding="utf-8")
    text = text.replace("There are no DCC Change Requests planned to be implemented alongside this SEC Release.",
                        "• CR1234 ‘Faster firmware’ \n\n• CR1250 ‘Bigger queues’ ")
    text = text.replace("No further modifications are expected",
                        "• MP200 ‘Another change’ proposes something else \n\n(decision cut-off date 1 Dec 20) \n\n"
                        "No further modifications are expected")
    text = text.replace("UIT User Integration Testing \n", "UIT User Integration Testing \n\nZZZ Zebra Zone \n")
    reading = read_rid("rid.txt", text.encode())
    assert reading.warnings == []
    assert reading.rid["change_requests"] == [{"reference": "CR1234", "title": "Faster firmware"},
                                              {"reference": "CR1250", "title": "Bigger queues"}]
    assert reading.rid["scope"][-1]["mp"] == "MP200"
    assert reading.rid["scope"][-1]["cutoff_date"] == "2020-12-01"
    assert reading.rid["glossary"][-1] == {"acronym": "ZZZ", "term": "Zebra Zone"}


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("filename, data, message", [
    ("notes.txt", b"Shopping list\n\neggs\nmilk\n", "does not read as a RID"),
    ("empty.txt", b"  \n", "empty"),
    ("binary.txt", b"\xff\xfe\x00\x01garbage", "not a PDF, a Word document"),
    ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf", "PDF is damaged"),
    ("broken.docx", b"PK\x03\x04 not really a zip", "zip is damaged"),
    ("other.docx", _zip({"hello.txt": b"hi"}), "not a Word document"),
    ("bomb.docx", _zip({"word/document.xml": b"<" + b"a" * (LIMITS["docx_uncompressed"] + 10)}), "would unpack to"),
    ("many.docx", _zip({f"word/{n}.xml": b"x" for n in range(LIMITS["docx_entries"] + 1)}), "parts"),
    ("huge.txt", b"x" * (LIMITS["bytes"] + 1), "must be at most"),
])
def test_a_file_that_is_not_a_rid_is_refused_with_a_reason(filename, data, message):
    with pytest.raises(NotARid, match=message):
        read_rid(filename, data)


def _pdf(**kwargs) -> bytes:
    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if kwargs.get("password"):
        writer.encrypt(kwargs["password"])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_encrypted_pdf_is_refused():
    with pytest.raises(NotARid, match="encrypted"):
        read_rid("secret.pdf", _pdf(password="pw"))


def test_a_pdf_with_no_text_is_taken_for_a_scan():
    with pytest.raises(NotARid, match="no text; it may be a scan"):
        read_rid("scan.pdf", _pdf())


def test_a_pdf_whose_pages_draw_too_much_is_refused_before_its_text_is_read():
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, StreamObject
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = StreamObject()
    stream.set_data(b"0 0 m 1 1 l S\n" * (LIMITS["pdf_content"] // 14 + 10))
    stream = stream.flate_encode()
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    assert len(out.getvalue()) < LIMITS["bytes"]
    with pytest.raises(NotARid, match="drawing instructions"):
        read_rid("busy.pdf", out.getvalue())


def test_a_word_rid_written_by_hand_with_list_numbering_reads():
    """A DOCX not made by the portal: Word's own bullets and numbered list (the numbers are not in the text)."""
    import docx
    d = docx.Document()
    d.add_heading("1. Scope", level=1)
    d.add_heading("Targeted Modification Proposals", level=2)
    d.add_paragraph("MP300 ‘Faster switching’ proposes a faster switch.", style="List Bullet")
    d.add_heading("3. Implementation timeline", level=1)
    table = d.add_table(rows=2, cols=3)
    for cell, text in zip(table.rows[0].cells + table.rows[1].cells,
                          ["Date", "Event", "Notes", "4 Nov 2021", "Release go-live", "The changes are implemented."]):
        cell.text = text
    d.add_heading("6. Acceptance criteria", level=1)
    d.add_heading("Operational acceptance criteria", level=2)
    d.add_paragraph("The DCC has tested the switch.", style="List Number")
    d.add_paragraph("SECAS is ready.", style="List Number")
    out = io.BytesIO()
    d.save(out)
    reading = read_rid("hand-made.docx", out.getvalue())
    assert reading.warnings == []
    assert [(c["number"], c["owner_role"]) for c in reading.rid["criteria"]] == [(1, "dcc"), (2, "secas")]
    assert reading.rid["scope"][0]["mp"] == "MP300"
    assert reading.rid["release"]["planned_go_live"] == "2021-11-04"
    assert reading.rid["release"]["name"] == "November 2021 SEC Release"
