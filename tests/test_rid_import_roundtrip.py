"""Publish, then import: the RID read back from the portal's own PDF and DOCX is the RID it was published from, for
the demo release (v0.1 and its baseline v1.0) and for a release with approved MPs, Change Requests, test phases that
apply, other Codes, more costs, glossary terms and several RID versions."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from portal.access import Role
from portal.document.render import render_docx, render_pdf, version_document
from portal.extensions import db
from portal.releases.models import (ChangeRequest, CostItem, GlossaryTerm, Milestone, MilestoneKind,
                                    ModificationProposal, OtherCodeImpact, ParticipantImpact, Release, RidVersion,
                                    ScopeEntry, ScopeStatus)
from portal.releases.models import TestPhase as PhaseRow
from portal.releases.services import add_rid_version
from portal.releases.snapshot import rid_snapshot
from portal.rid_import.reader import comparable, read_rid, without_urls
from portal.rid_import.services import import_rid_version

RENDER = {"pdf": render_pdf, "docx": render_docx}


def _history(doc) -> list[dict]:
    return [{"number": v["number"], "issued_on": v["issued_on"].isoformat(), "change_note": v["change_note"],
             "panel_meeting_on": v["panel_meeting_on"].isoformat() if v["panel_meeting_on"] else None,
             "panel_minute_ref": v["panel_minute_ref"]} for v in doc.versions]


def _round_trip(release: Release, version: RidVersion, kind: str):
    """Publish `version` as `kind`, read it back: (the source, what was read, the reading)."""
    doc = version_document(release, version)
    reading = read_rid(f"rid.{kind}", RENDER[kind](doc))
    assert reading.warnings == [], [(w.line, w.text, w.why) for w in reading.warnings]
    assert reading.versions == _history(doc)
    source = comparable(json.loads(json.dumps(version.snapshot)))
    return source, without_urls(reading.rid), reading


def _enrich(release: Release) -> None:
    """The demo release grown as later releases are: approved MPs with cut-off dates, a fifth MP, CRs, test phases
    that apply, an Other Code impact, a fixed cost, another milestone and glossary term, several versions."""
    scope = release.scope
    scope[0].status, scope[0].cutoff_date = ScopeStatus.APPROVED, dt.date(2020, 10, 1)
    scope[1].cutoff_date = dt.date(2020, 12, 3)
    mp = ModificationProposal(reference="MP130A", title="Alternative solution for tariffs", url="")
    db.session.add(mp)
    db.session.flush()
    db.session.add(ScopeEntry(release_id=release.id, mp_id=mp.id, status=ScopeStatus.TARGETED,
                              summary="proposes an alternative to MP130.", position=9))
    dcc_group = next(g for g in rid_snapshot(release)["participant_groups"] if g["name"] == "DCC")
    db.session.add(ParticipantImpact(release_id=release.id, mp_id=mp.id, group_id=dcc_group["id"]))
    for n, (ref, title) in enumerate([("CR1234", "Faster firmware distribution"), ("CR1301", "SSI refresh")]):
        db.session.add(ChangeRequest(release_id=release.id, reference=ref, title=title, position=n))
    for phase in release.test_phases:
        if phase.phase == "SIT":
            phase.applies, phase.reason = True, "The DCC System changes for CR1234 need end-to-end testing."
        if phase.phase == "UIT":
            phase.reason = "No User-facing interface changes."
    db.session.add(PhaseRow(release_id=release.id, phase="SRT", name="Security Regression Testing", applies=True,
                             reason="", position=5))
    db.session.add(OtherCodeImpact(release_id=release.id, code="REC", description="A consequential change to the "
                                   "Retail Energy Code schedule.", position=0))
    db.session.add(CostItem(release_id=release.id, party="DCC", description="Testing environment", amount_pence=50_000_00,
                            already_budgeted=True, qualifier="fixed", position=5))
    db.session.add(Milestone(release_id=release.id, kind=MilestoneKind.OTHER, due_on=dt.date(2021, 1, 5),
                             event="Industry briefing", notes="SECAS briefs the Parties.", acting_role=Role.SECAS,
                             position=9))
    db.session.add(GlossaryTerm(release_id=release.id, acronym="REC", term="Retail Energy Code", position=20))
    release.other_codes_note = "The REC change is raised separately."
    release.approved_mps_note = "MP092 was approved by the Authority."
    db.session.flush()
    add_rid_version(None, release, "Scope and test strategy updated.", issued_on=dt.date(2020, 9, 1))
    add_rid_version(None, release, "CRs added.", issued_on=dt.date(2020, 10, 2))
    version = add_rid_version(None, release, "Baselined by the Panel.", major=True, issued_on=dt.date(2020, 10, 9))
    version.panel_meeting_on, version.panel_minute_ref = dt.date(2020, 10, 9), "86/04"
    db.session.commit()


@pytest.fixture
def demo(app, make_release):
    make_release()
    with app.app_context():
        yield db.session.scalar(sa.select(Release).where(Release.code == "feb-2021"))


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_the_demo_rid_v0_1_reads_back_as_it_was_published(demo, kind):
    source, read, _ = _round_trip(demo, demo.rid_versions[0], kind)
    assert read == source


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_the_demo_baseline_v1_0_reads_back_with_its_panel_meeting(demo, kind):
    version = add_rid_version(None, demo, "Baselined by the Panel.", major=True, issued_on=dt.date(2020, 8, 14))
    version.panel_meeting_on, version.panel_minute_ref = dt.date(2020, 8, 14), "84/03"
    db.session.commit()
    source, read, reading = _round_trip(demo, version, kind)
    assert read == source
    assert reading.versions[-1]["panel_minute_ref"] == "84/03"


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_a_release_with_approved_mps_crs_and_test_phases_reads_back(demo, kind):
    _enrich(demo)
    source, read, reading = _round_trip(demo, demo.rid_versions[-1], kind)
    assert read == source
    assert [v["number"] for v in reading.versions] == ["0.1", "0.2", "0.3", "1.0"]
    assert [e["status"] for e in read["scope"]][:1] == ["approved"] and read["change_requests"][1]["reference"] == "CR1301"
    assert [(t["phase"], t["applies"]) for t in read["test_phases"]][1:] == [("SIT", True), ("UIT", False), ("SRT", True)]


def test_importing_the_published_docx_as_the_next_version_keeps_the_rid_equal(demo):
    _enrich(demo)
    demo.rid_versions[-1].is_baseline = False  # still a draft for this test: the import replaces a draft's RID
    db.session.commit()
    before = comparable(json.loads(json.dumps(rid_snapshot(demo))))
    reading = read_rid("rid.docx", render_docx(version_document(demo, demo.rid_versions[-1])))
    scope_out = [e for e in demo.scope if e.status not in (ScopeStatus.APPROVED, ScopeStatus.TARGETED)]
    assert scope_out == []
    version = import_rid_version(None, demo, reading, filename="rid.docx")
    db.session.commit()
    assert version.number == "1.1"
    after = comparable(json.loads(json.dumps(rid_snapshot(demo))))
    assert after == before
    urls = {e.mp.reference: e.mp.url for e in demo.scope}
    assert urls["MP092"].endswith("/new-planned-maintenance-methodology/")
