"""SECAS reorders the rows of every RID section whose order is the author's, with and without JavaScript.

Scope entries and Change Requests are covered in test_rid_authoring.py; milestones follow their dates and criteria
their numbers, so neither has a move. Participant groups and SEC documents are the impact matrices' columns and
rows, shared by every release's RID.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import pytest
import sqlalchemy as sa

from portal.audit.describe import sentence
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.releases.models import (CostItem, DocumentImpact, GlossaryTerm, ImpactSummary, OtherCodeImpact,
                                    ParticipantGroup, ParticipantImpact, Release, RidVersion, SecDocument, Stage)
from portal.releases.services import add_rid_version
from portal.releases.models import TestPhase as Phase
from releases_html import page_text
from test_rid_authoring import BASE, actions, baseline


@dataclass(frozen=True)
class Section:
    name: str
    path: str  # the rows' URL segment
    row_id: str  # the id prefix of a row on the release page
    snapshot: str  # its list in rid_snapshot()
    action: str  # the audit event of a move
    model: type
    where: Callable = lambda model: True  # the list the two rows share

    def two_rows(self, app) -> tuple[int, int]:
        """The ids of the first two rows of one list, in their RID order."""
        with app.app_context():
            ids = db.session.scalars(sa.select(self.model.id).where(self.where(self.model))
                                     .order_by(self.model.position, self.model.id)).all()
        return ids[0], ids[1]


SECTIONS = [
    Section("glossary", "glossary", "glossary", "glossary", "rid.glossary_moved", GlossaryTerm),
    Section("other_codes", "other-codes", "other-code", "other_code_impacts", "rid.other_code_moved",
            OtherCodeImpact),
    Section("impact_summaries", "impact-summaries", "summary", "impact_summaries", "rid.impact_summary_moved",
            ImpactSummary, lambda m: m.kind == "party"),
    Section("test_phases", "test-phases", "test-phase", "test_phases", "rid.test_phase_moved", Phase),
    Section("costs", "costs", "cost", "cost_items", "rid.cost_moved", CostItem, lambda m: m.party == "SECAS"),
    Section("participant_groups", "participant-groups", "participant-group", "participant_groups",
            "rid.participant_group_moved", ParticipantGroup),
    Section("sec_documents", "sec-documents", "document", "sec_documents", "rid.sec_document_moved", SecDocument),
]


def live_order(app, section: Section) -> list[int]:
    with app.app_context():
        return [row["id"] for row in db.session.scalar(sa.select(Release.rid_live))[section.snapshot]]


def before(html: str, section: Section, first: int, second: int) -> bool:
    """Whether row `first` comes before row `second` on the page."""
    return html.index(f'id="{section.row_id}-{first}"') < html.index(f'id="{section.row_id}-{second}"')


@pytest.fixture
def secas(client, users, make_release):
    make_release()
    client.login(users["secas"])
    # The demo RID has no impacts on other Codes: two, so that they can be reordered.
    for code in ("BSC", "REC"):
        assert client.post_form(f"{BASE}/other-codes/new", {"code": code, "description": "Aligned."}).status_code \
            == 303
    return client


@pytest.mark.parametrize("section", SECTIONS, ids=[s.name for s in SECTIONS])
def test_a_row_moves_up_and_down_in_the_page_and_the_rid(secas, users, app, section):
    first, second = section.two_rows(app)
    url = f"{BASE}/{section.path}/{second}/reorder"
    page = secas.get(BASE).get_data(as_text=True)
    assert before(page, section, first, second) and f'action="{url}"' in page  # a one-click button in a draft

    # With htmx: the whole RID comes back in place of the old one, in the new order.
    response = secas.post_form(url, {"direction": "up"}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#rid-document"
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and before(fragment, section, second, first)
    assert before(secas.get(BASE).get_data(as_text=True), section, second, first)
    order = live_order(app, section)
    assert order.index(second) < order.index(first)
    assert actions(app)[-1] == section.action

    # The first row cannot move further up: a clear refusal, nothing changes, nothing is audited.
    events = len(actions(app))
    response = secas.post_form(url, {"direction": "up"})
    assert response.status_code == 409 and "is already first in its list, so it cannot move up" in \
        page_text(response.get_data(as_text=True))
    assert len(actions(app)) == events and live_order(app, section) == order

    # Without JavaScript: a plain form post, answered with a redirect to the section.
    response = secas.post_form(url, {"direction": "down"})
    assert response.status_code == 303 and "#" in response.headers["Location"]
    assert before(secas.get(BASE).get_data(as_text=True), section, first, second)
    assert secas.post_form(url, {"direction": "sideways"}).status_code == 422
    assert secas.post_form(f"{BASE}/{section.path}/99999/reorder", {"direction": "up"}).status_code == 404

    # Once baselined: a link to a page that asks for the change note; the move makes a new RID version.
    baseline(secas, users)
    assert f'href="{url}?direction=up"' in secas.get(BASE).get_data(as_text=True)
    assert 'name="change_note"' in secas.get(f"{url}?direction=up").get_data(as_text=True)
    events = len(actions(app))
    assert secas.post_form(url, {"direction": "up"}).status_code == 422
    assert len(actions(app)) == events and live_order(app, section).index(first) < live_order(
        app, section).index(second)
    response = secas.post_form(url, {"direction": "up", "change_note": "Reordered."}, htmx=True)
    assert response.status_code == 200
    with app.app_context():
        version = db.session.scalars(sa.select(RidVersion).order_by(RidVersion.id.desc())).first()
        assert (version.number, version.change_note) == ("1.1", "Reordered.")
        ids = [row["id"] for row in version.snapshot[section.snapshot]]
    assert ids.index(second) < ids.index(first)
    assert actions(app)[-2:] == [section.action, "rid.version_issued"]


@pytest.mark.parametrize("who", ["dcc", "opsg_chair", "panel_chair"])
def test_only_secas_reorders(client, users, make_release, app, who):
    make_release()
    client.login(users[who])
    events = len(actions(app))
    for section in SECTIONS:
        if section.name == "other_codes":
            continue  # the demo has none
        first, second = section.two_rows(app)
        url = f"{BASE}/{section.path}/{second}/reorder"
        assert client.get(f"{url}?direction=up").status_code == 403
        assert client.post_form(url, {"direction": "up"}).status_code == 403
        assert client.post_form(url, {"direction": "up"}, htmx=True).status_code == 403
    assert len(actions(app)) == events
    assert "/reorder" not in client.get(BASE).get_data(as_text=True)


def test_a_row_of_another_release_is_not_found(secas, app):
    with app.app_context():
        june = Release(code="jun-2021", name="June 2021 SEC Release", planned_go_live=dt.date(2021, 6, 24))
        db.session.add(june)
        db.session.flush()
        db.session.add_all([GlossaryTerm(release_id=june.id, acronym=a, term=a, position=i)
                            for i, a in enumerate(("X", "Y"))])
        db.session.commit()
        term = db.session.scalar(sa.select(GlossaryTerm.id).filter_by(release_id=june.id, acronym="Y"))
    events = len(actions(app))
    assert secas.post_form(f"{BASE}/glossary/{term}/reorder", {"direction": "up"}).status_code == 404
    assert len(actions(app)) == events


# --- The matrices' columns and rows are also renamed and removed -------------------------------------------

def test_a_participant_group_is_renamed_and_removed_once_no_rid_ticks_it(secas, app):
    with app.app_context():
        ticked = db.session.scalar(sa.select(ParticipantGroup).filter_by(name="Suppliers")).id
    response = secas.post_form(f"{BASE}/participant-groups/{ticked}/edit", {"name": "Energy Suppliers"}, htmx=True)
    assert response.status_code == 200 and "Energy Suppliers" in page_text(response.get_data(as_text=True))
    assert actions(app)[-1] == "rid.participant_group_changed"
    response = secas.post_form(f"{BASE}/participant-groups/{ticked}/edit", {"name": "dcc"})
    assert response.status_code == 422 and "dcc is already a participant group" in response.get_data(as_text=True)

    response = secas.post_form(f"{BASE}/participant-groups/{ticked}/remove", {}, htmx=True)
    assert response.status_code == 409 and "The participant group Energy Suppliers cannot be removed: the " \
        "impact matrix of February 2021 SEC Release still ticks it." in page_text(response.get_data(as_text=True))
    assert secas.post_form(f"{BASE}/participant-groups/new", {"name": "Device Manufacturers"}).status_code == 303
    with app.app_context():
        new = db.session.scalar(sa.select(ParticipantGroup).filter_by(name="Device Manufacturers")).id
    assert secas.post_form(f"{BASE}/participant-groups/{new}/remove", {}).status_code == 303
    assert actions(app)[-1] == "rid.participant_group_removed"
    with app.app_context():
        assert db.session.get(ParticipantGroup, new) is None
        assert "Device Manufacturers" not in [g["name"] for g in db.session.scalar(
            sa.select(Release.rid_live))["participant_groups"]]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ParticipantImpact)) > 0


def test_an_sec_document_is_renamed_and_removed_once_no_rid_ticks_it(secas, app):
    with app.app_context():
        ticked = db.session.scalar(sa.select(SecDocument).filter_by(name="Section A")).id
    assert secas.post_form(f"{BASE}/sec-documents/new", {"name": "Section X", "title": "Testing"}).status_code == 303
    with app.app_context():
        unticked = db.session.scalar(sa.select(SecDocument).where(~SecDocument.id.in_(
            sa.select(DocumentImpact.document_id)))).id
    response = secas.post_form(f"{BASE}/sec-documents/{ticked}/edit", {"name": "Section A", "title": "Definitions"})
    assert response.status_code == 303 and actions(app)[-1] == "rid.sec_document_changed"
    assert "Section A ‘Definitions’" in page_text(secas.get(BASE).get_data(as_text=True))
    response = secas.post_form(f"{BASE}/sec-documents/{ticked}/remove", {})
    assert response.status_code == 409 and "still ticks it" in page_text(response.get_data(as_text=True))
    assert secas.post_form(f"{BASE}/sec-documents/{unticked}/remove", {}).status_code == 303
    assert actions(app)[-1] == "rid.sec_document_removed"
    with app.app_context():
        assert db.session.get(SecDocument, unticked) is None


# --- A change to the shared axes is a change to every open release's RID --------------------------------

def other_release(app, code: str, name: str, stage: Stage) -> int:
    """Another release, baselined and at `stage`: its RID shows the same participant groups and SEC documents."""
    with app.test_request_context():
        release = Release(code=code, name=name, planned_go_live=dt.date(2027, 6, 24), stage=stage)
        db.session.add(release)
        db.session.flush()
        add_rid_version(None, release, "First draft")
        add_rid_version(None, release, "Baselined by the SEC Panel.", major=True, baseline=True)
        db.session.commit()
        return release.id


def versions(app, release_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        return [(v.number, v.change_note) for v in db.session.scalars(
            sa.select(RidVersion).filter_by(release_id=release_id).order_by(RidVersion.id))]


def suppliers(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(ParticipantGroup.id).filter_by(name="Suppliers"))


def test_renaming_a_group_issues_a_version_in_every_baselined_rid_it_changes(secas, users, app):
    baseline(secas, users)
    june = other_release(app, "jun-2027", "June 2027 SEC Release", Stage.EVIDENCE)
    live = other_release(app, "nov-2026", "November 2026 SEC Release", Stage.LIVE)
    live_before = versions(app, live)
    note = "Suppliers renamed Energy Suppliers, as the SEC now names them."
    response = secas.post_form(f"{BASE}/participant-groups/{suppliers(app)}/edit",
                               {"name": "Energy Suppliers", "change_note": note})
    assert response.status_code == 303
    with app.app_context():
        feb = db.session.scalar(sa.select(Release.id).filter_by(code="feb-2021"))
        event = db.session.scalars(sa.select(AuditEvent).filter_by(action="rid.participant_group_changed")).one()
        assert event.release_id == feb
        assert event.details["versions_in"] == ["feb-2021", "jun-2027"]
        assert event.summary == ("Participant group Suppliers changed; new RID version in February 2021 SEC Release "
                                 "and June 2027 SEC Release")
        assert sentence(event, "SECAS", {}) == ("Sam Admin (SECAS) changed Participant group Suppliers; new RID "
                                                "version in February 2021 SEC Release and June 2027 SEC Release.")
        assert event.details["note"] == note
        june_rid = db.session.get(Release, june).current_rid
        assert "Energy Suppliers" in [g["name"] for g in june_rid.snapshot["participant_groups"]]
    assert versions(app, feb)[-1] == ("1.1", note)
    assert versions(app, june)[1:] == [("1.0", "Baselined by the SEC Panel."), ("1.1", note)]
    # A live release's versions are its record: untouched (its page shows the shared tables as they now are).
    assert versions(app, live) == live_before
    # June's own audit trail has its version, and its comparison shows the renamed column.
    with app.app_context():
        assert db.session.scalars(sa.select(AuditEvent.summary).filter_by(
            release_id=june, action="rid.version_issued").order_by(AuditEvent.id)).all()[-1] \
            == f"RID version 1.1 issued: {note}"
    text = page_text(secas.get("/releases/jun-2027/rid/compare?from=1.0&to=1.1").get_data(as_text=True))
    assert "Energy Suppliers Changed Suppliers" in text.replace(": Name", "")


def test_a_shared_change_without_a_note_is_refused_while_another_rid_is_baselined(secas, users, app):
    june = other_release(app, "jun-2027", "June 2027 SEC Release", Stage.EVIDENCE)
    group = suppliers(app)
    # The draft's page offers the group's move and removal as links to a page asking for the note.
    html = secas.get(BASE).get_data(as_text=True)
    assert f'href="{BASE}/participant-groups/{group}/reorder?direction=down"' in html
    assert f'action="{BASE}/participant-groups/{group}/reorder"' not in html
    assert 'name="change_note"' in secas.get(f"{BASE}/participant-groups/{group}/edit").get_data(as_text=True)
    events = len(actions(app))
    for path, data in ((f"participant-groups/{group}/edit", {"name": "Energy Suppliers"}),
                       (f"participant-groups/{group}/reorder", {"direction": "down"}),
                       ("sec-documents/new", {"name": "Section Z", "title": "Testing"})):
        response = secas.post_form(f"{BASE}/{path}", {**data, "change_note": " "})
        assert response.status_code == 422, path
        text = page_text(response.get_data(as_text=True))
        assert "There is a problem" in text and "the RID of June 2027 SEC Release is baselined" in text, path
    assert len(actions(app)) == events
    assert versions(app, june)[-1] == ("1.0", "Baselined by the SEC Panel.")
    with app.app_context():
        assert db.session.get(ParticipantGroup, group).name == "Suppliers"
        assert db.session.scalar(sa.select(SecDocument).filter_by(name="Section Z")) is None
    # With the note: June gets its version; the draft does not.
    response = secas.post_form(f"{BASE}/participant-groups/{group}/reorder",
                               {"direction": "down", "change_note": "Suppliers after the DCC."})
    assert response.status_code == 303
    assert versions(app, june)[-1] == ("1.1", "Suppliers after the DCC.")
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).filter_by(action="rid.participant_group_moved")).one()
        assert event.details["releases"] == ["feb-2021", "jun-2027"]
        assert event.details["versions_in"] == ["jun-2027"]
        assert [v.number for v in db.session.scalar(sa.select(Release).filter_by(code="feb-2021")).rid_versions] \
            == ["0.1"]
