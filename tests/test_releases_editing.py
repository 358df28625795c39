"""SECAS edits the RID inline (htmx) or with plain forms; the Panel chair baselines it; later edits make versions."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.releases.models import (CostItem, Criterion, DocumentImpact, ImpactSummary, Milestone, MilestoneKind,
                                    ParticipantGroup, ParticipantImpact, Release, RidVersion, ScopeEntry,
                                    ScopeStatus, SecDocument, Stage)
from releases_html import page_text, row_cells

OTHERS = ["dcc", "opsg_chair", "opsg", "panel_chair", "panel"]
BASE = "/releases/feb-2021"


def one(app, model, **where):
    with app.app_context():
        row = db.session.scalars(sa.select(model).filter_by(**where)).first()
        db.session.expunge(row)
        return row


def count(app, model, **where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**where))


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def milestone_form(**overrides) -> dict:
    data = {"due_on": ["26", "1", "2021"], "event": "DCC submits evidence", "notes": "Evidence due by noon.",
            "acting_role": "dcc"}
    return {**data, **overrides}


@pytest.fixture
def evidence_milestone(app, make_release):
    make_release()
    return one(app, Milestone, kind=MilestoneKind.EVIDENCE)


def test_secas_edits_a_milestone_inline_and_gets_the_timeline_with_its_picture(client, users, evidence_milestone, app):
    client.login(users["secas"])
    url = f"{BASE}/milestones/{evidence_milestone.id}/edit"
    form = client.get(url, headers={"HX-Request": "true"})
    assert form.status_code == 200
    assert form.get_data(as_text=True).lstrip().startswith(f'<tr class="govuk-table__row" id="milestone-')
    assert 'name="change_note"' not in form.get_data(as_text=True)  # a draft needs no change note

    response = client.post_form(url, milestone_form(), htmx=True)
    assert response.status_code == 200
    # The whole timeline comes back (the row moved, and so did its point on the picture).
    assert response.headers["HX-Retarget"] == "#rid-timeline-section"
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="rid-timeline-section">')
    assert "DCC submits evidence, 26 January 2021" in html  # the picture's text alternative, redrawn
    assert row_cells(html, f"milestone-{evidence_milestone.id}")[:4] == [
        "26 January 2021", "DCC submits evidence", "Evidence due by noon.", "DCC"]
    stored = one(app, Milestone, id=evidence_milestone.id)
    assert (stored.event, stored.notes) == ("DCC submits evidence", "Evidence due by noon.")
    assert audit_actions(app)[-1] == "rid.milestone_changed"
    assert count(app, RidVersion) == 1  # still draft: no new version


def test_plain_form_edit_redirects_to_the_row(client, users, evidence_milestone, app):
    client.login(users["secas"])
    url = f"{BASE}/milestones/{evidence_milestone.id}/edit"
    page = client.get(url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    response = client.post_form(url, milestone_form(due_on=["27", "1", "2021"]))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{BASE}#milestone-{evidence_milestone.id}")
    assert str(one(app, Milestone, id=evidence_milestone.id).due_on) == "2021-01-27"
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.details["before"]["due_on"] == "2021-01-26"
        assert event.details["after"]["due_on"] == "2021-01-27"


@pytest.mark.parametrize("who", OTHERS)
def test_other_roles_cannot_edit_the_rid(client, users, evidence_milestone, app, who):
    client.login(users[who])
    url = f"{BASE}/milestones/{evidence_milestone.id}/edit"
    events_before = len(audit_actions(app))
    assert client.get(url).status_code == 403
    assert client.post_form(url, milestone_form(notes="Hacked")).status_code == 403
    assert client.post_form(url, milestone_form(notes="Hacked"), htmx=True).status_code == 403
    assert client.post_form(f"{BASE}/criteria/new", {"text": "Hacked", "owner_role": "dcc"}).status_code == 403
    assert one(app, Milestone, id=evidence_milestone.id).notes == ""
    assert count(app, Criterion) == 10
    assert len(audit_actions(app)) == events_before
    html = client.get(BASE).get_data(as_text=True)
    assert f'href="{url}"' not in html


@pytest.mark.parametrize("data, message", [
    (milestone_form(due_on=["31", "2", "2021"]), "Enter a real date"),
    (milestone_form(due_on=["", "", ""]), "Enter the date"),
    (milestone_form(due_on="2021-01-26"), "Enter the date as a day, month and year"),
    (milestone_form(due_on=["1", "2", "21"]), "Enter a real date"),
    (milestone_form(due_on=["1", "2", "1921"]), "The date must be between 1 January 2000 and 31 December 2100"),
    (milestone_form(event=""), "Enter the event"),
    (milestone_form(acting_role="king"), "Select one of the options shown"),
    (milestone_form(event="x" * 301), "300 characters or fewer"),
])
def test_bad_milestone_input_is_refused_and_nothing_stored(client, users, evidence_milestone, app, data, message):
    client.login(users["secas"])
    url = f"{BASE}/milestones/{evidence_milestone.id}/edit"
    events_before = len(audit_actions(app))
    for htmx in (False, True):
        response = client.post_form(url, data, htmx=htmx)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "There is a problem" in html and message in html
    stored = one(app, Milestone, id=evidence_milestone.id)
    assert (str(stored.due_on), stored.notes) == ("2021-01-26", "")
    assert len(audit_actions(app)) == events_before


@pytest.mark.parametrize("typed, pence", [("1,200", 120000), ("1200.50", 120050), ("£340,000", 34000000),
                                          ("0", 0)])
def test_cost_amounts_are_typed_in_pounds(client, users, make_release, app, typed, pence):
    make_release()
    item = one(app, CostItem, party="DCC")
    client.login(users["secas"])
    response = client.post_form(f"{BASE}/costs/{item.id}/edit",
                                {"party": "DCC", "description": item.description, "amount_pence": typed}, htmx=True)
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#rid-costs"
    assert one(app, CostItem, id=item.id).amount_pence == pence
    html = response.get_data(as_text=True)
    assert row_cells(html, f"cost-{item.id}")[1].endswith(f"£{pence / 100:,.2f}".removesuffix(".00"))


@pytest.mark.parametrize("typed", ["12abc", "-5", "1.234", "1,20", "£", "99999999999"])
def test_bad_amounts_are_refused(client, users, make_release, app, typed):
    make_release()
    item = one(app, CostItem, party="DCC")
    client.login(users["secas"])
    response = client.post_form(f"{BASE}/costs/{item.id}/edit",
                                {"party": "DCC", "description": "x", "amount_pence": typed})
    assert response.status_code == 422
    assert ("Enter the amount in pounds, like 1,200 or 1200.50" in response.get_data(as_text=True)
            or "£10,000,000,000 or less" in response.get_data(as_text=True))
    assert one(app, CostItem, id=item.id).amount_pence == 34000000


def test_scope_entry_gets_a_cut_off_date_and_can_be_withdrawn(client, users, make_release, app):
    make_release()
    entry = one(app, ScopeEntry, mp_id=one_mp_id(app, "MP111"))
    client.login(users["secas"])
    url = f"{BASE}/scope/{entry.id}/edit"
    response = client.post_form(url, {"status": "targeted", "cutoff_date": ["30", "10", "2020"],
                                      "summary": entry.summary, "moved_to_id": ""}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#rid-scope"
    assert row_cells(response.get_data(as_text=True), f"scope-{entry.id}")[2] == "30 October 2020"
    response = client.post_form(url, {"status": "withdrawn", "cutoff_date": ["", "", ""],
                                      "summary": "Withdrawn by the proposer.", "moved_to_id": ""})
    assert response.status_code == 303
    stored = one(app, ScopeEntry, id=entry.id)
    assert (stored.status, stored.cutoff_date, stored.summary) == (ScopeStatus.WITHDRAWN, None,
                                                                   "Withdrawn by the proposer.")
    text = page_text(client.get(BASE).get_data(as_text=True))
    assert "Withdrawn or moved Modification Proposals" in text
    # A withdrawn MP leaves the impact matrices.
    assert "Document MP092 MP095 MP122" in text


def test_moving_an_entry_needs_the_release_it_moved_to(client, users, make_release, app):
    make_release()
    entry = one(app, ScopeEntry, mp_id=one_mp_id(app, "MP092"))
    client.login(users["secas"])
    response = client.post_form(f"{BASE}/scope/{entry.id}/edit", {
        "status": "moved", "cutoff_date": ["", "", ""], "summary": "x", "moved_to_id": ""})
    assert response.status_code == 422
    assert "Choose the release the modification has moved to" in response.get_data(as_text=True)
    response = client.post_form(f"{BASE}/scope/{entry.id}/edit", {
        "status": "moved", "cutoff_date": ["", "", ""], "summary": "x", "moved_to_id": "999"})
    assert response.status_code == 422
    assert one(app, ScopeEntry, id=entry.id).status == ScopeStatus.TARGETED


def one_mp_id(app, reference: str) -> int:
    from portal.releases.models import ModificationProposal
    return one(app, ModificationProposal, reference=reference).id


def test_criterion_text_and_owner_change_and_regroup(client, users, make_release, app):
    make_release()
    criterion = one(app, Criterion, number=8)
    client.login(users["secas"])
    response = client.post_form(f"{BASE}/criteria/{criterion.id}/edit",
                                {"text": "SECAS has assured the BCDR processes.", "owner_role": "secas"}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#rid-criteria"
    html = response.get_data(as_text=True)
    assert row_cells(html, f"criterion-{criterion.id}")[:3] == ["8", "SECAS has assured the BCDR processes.", "SECAS"]
    stored = one(app, Criterion, id=criterion.id)
    assert (stored.text, stored.owner_role) == ("SECAS has assured the BCDR processes.", "secas")


def test_secas_adds_a_criterion_and_a_milestone(client, users, make_release, app):
    make_release()
    client.login(users["secas"])
    assert client.get(f"{BASE}/criteria/new").status_code == 200
    assert client.post_form(f"{BASE}/criteria/new", {"text": "", "owner_role": "dcc"}).status_code == 422
    response = client.post_form(f"{BASE}/criteria/new", {"text": "The DCC has trained its staff.",
                                                         "owner_role": "dcc"})
    assert response.status_code == 303
    added = one(app, Criterion, number=11)
    assert response.headers["Location"].endswith(f"#criterion-{added.id}")
    assert (added.text, added.owner_role) == ("The DCC has trained its staff.", "dcc")

    response = client.post_form(f"{BASE}/milestones/new", {**milestone_form(event="TAG briefing"), "kind": "other"})
    assert response.status_code == 303
    assert count(app, Milestone) == 6
    assert "TAG briefing" in page_text(client.get(BASE).get_data(as_text=True))
    assert {"rid.criterion_added", "rid.milestone_added"} <= set(audit_actions(app))


def test_participant_and_document_ticks_change(client, users, make_release, app):
    make_release()
    entry = one(app, ScopeEntry, mp_id=one_mp_id(app, "MP092"))
    suppliers = one(app, ParticipantGroup, name="Suppliers")
    dcc = one(app, ParticipantGroup, name="DCC")
    client.login(users["secas"])
    response = client.post_form(f"{BASE}/participant-impacts/{entry.id}/edit", {"ticked": [str(dcc.id)]}, htmx=True)
    assert response.status_code == 200
    assert row_cells(response.get_data(as_text=True), f"participant-{entry.id}")[:6] == [
        "MP092", "Not impacted", "Not impacted", "Not impacted", "Not impacted", "✓Impacted"]
    assert count(app, ParticipantImpact, mp_id=entry.mp_id) == 1
    assert count(app, ParticipantImpact, mp_id=entry.mp_id, group_id=suppliers.id) == 0
    bad = client.post_form(f"{BASE}/participant-impacts/{entry.id}/edit", {"ticked": ["abc"]})
    assert bad.status_code == 422

    section_a = one(app, SecDocument, name="Section A")
    mp111 = one_mp_id(app, "MP111")
    response = client.post_form(f"{BASE}/document-impacts/{section_a.id}/edit",
                                {"ticked": [str(one_mp_id(app, "MP092")), str(mp111)]})
    assert response.status_code == 303
    assert count(app, DocumentImpact, document_id=section_a.id) == 2
    assert count(app, DocumentImpact, document_id=section_a.id, mp_id=mp111) == 1
    assert client.post_form(f"{BASE}/document-impacts/9999/edit", {"ticked": []}).status_code == 404


def test_impact_summary_text_changes(client, users, make_release, app):
    make_release()
    summary = one(app, ImpactSummary, kind="dcc", subject="Regulatory changes")
    client.login(users["secas"])
    url = f"{BASE}/impact-summaries/{summary.id}/edit"
    assert client.post_form(url, {"text": "  "}).status_code == 422
    response = client.post_form(url, {"text": "The DCC will follow the new methodology."}, htmx=True)
    assert response.status_code == 200
    assert row_cells(response.get_data(as_text=True), f"summary-{summary.id}")[0] == \
        "The DCC will follow the new methodology."


@pytest.mark.parametrize("url", [f"{BASE}/milestones/9999/edit", f"{BASE}/criteria/9999/edit",
                                 f"{BASE}/costs/9999/edit", f"{BASE}/scope/9999/edit",
                                 f"{BASE}/impact-summaries/9999/edit", f"{BASE}/participant-impacts/9999/edit",
                                 "/releases/nope/milestones/1/edit",
                                 f"{BASE}/transitions/start_opsg_review"])
def test_unknown_ids_are_not_found(client, users, make_release, url):
    make_release()
    client.login(users["secas"])
    method = client.post_form if "transitions" in url else client.get
    assert method(url).status_code == 404


def test_a_live_release_can_no_longer_be_edited(client, users, make_release, app):
    make_release(Stage.LIVE)
    criterion = one(app, Criterion, number=1)
    client.login(users["secas"])
    response = client.post_form(f"{BASE}/criteria/{criterion.id}/edit", {"text": "New", "owner_role": "dcc"})
    assert response.status_code == 409
    assert one(app, Criterion, id=criterion.id).text != "New"


# --- Baselining and versions after it ---

def baseline(client, users, app):
    client.login(users["panel_chair"])
    response = client.post_form(f"{BASE}/baseline", {"meeting_on": ["14", "10", "2020"], "minute_ref": "84/03"})
    client.logout()
    return response


@pytest.mark.parametrize("who, status", [("secas", 403), ("dcc", 403), ("opsg_chair", 403), ("panel", 403)])
def test_only_the_panel_chair_baselines(client, users, make_release, app, who, status):
    make_release()
    client.login(users[who])
    assert client.post_form(f"{BASE}/baseline").status_code == status
    assert one(app, Release, code="feb-2021").stage == Stage.DRAFT
    assert count(app, RidVersion) == 1


def test_panel_chair_baselines_the_rid_as_version_1_0(client, users, make_release, app):
    make_release()
    response = baseline(client, users, app)
    assert response.status_code == 303
    assert one(app, Release, code="feb-2021").stage == Stage.EVIDENCE
    version = one(app, RidVersion, major=1, minor=0)
    assert version.is_baseline and version.change_note == "Baselined by the SEC Panel."
    assert version.snapshot["criteria"][0]["number"] == 1
    assert {"release.moved", "rid.version_issued"} <= set(audit_actions(app))
    # Baselining again is refused: the release has moved on.
    client.login(users["panel_chair"])
    assert client.post_form(f"{BASE}/baseline").status_code == 409
    assert count(app, RidVersion) == 2


def test_after_baselining_a_change_needs_a_note_and_makes_version_1_1(client, users, evidence_milestone, app):
    baseline(client, users, app)
    client.login(users["secas"])
    url = f"{BASE}/milestones/{evidence_milestone.id}/edit"
    assert 'name="change_note"' in client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)

    for htmx in (False, True):
        response = client.post_form(url, milestone_form(notes="Moved to noon."), htmx=htmx)
        assert response.status_code == 422
        assert "Enter a change note" in response.get_data(as_text=True)
    assert one(app, Milestone, id=evidence_milestone.id).notes == ""
    assert count(app, RidVersion) == 2

    response = client.post_form(url, milestone_form(notes="Moved to noon.", change_note="Evidence due at noon."))
    assert response.status_code == 303
    latest = one(app, RidVersion, major=1, minor=1)
    assert latest.change_note == "Evidence due at noon." and not latest.is_baseline
    notes = {v.number: next(m["notes"] for m in v.snapshot["milestones"] if m["id"] == evidence_milestone.id)
             for v in (one(app, RidVersion, major=1, minor=0), latest)}
    assert notes == {"1.0": "", "1.1": "Moved to noon."}

    page = page_text(client.get(BASE).get_data(as_text=True))
    assert "1.1 of the RID" in page and "Evidence due at noon." in page
    old = client.get(f"{BASE}/rid/1.0").get_data(as_text=True)
    new = client.get(f"{BASE}/rid/1.1").get_data(as_text=True)
    assert row_cells(old, f"milestone-{evidence_milestone.id}")[2] == ""
    assert row_cells(new, f"milestone-{evidence_milestone.id}")[2] == "Moved to noon."


def test_an_entry_moves_to_another_release(client, users, make_release, app):
    make_release()
    with app.app_context():
        june = Release(code="jun-2021", name="June 2021 SEC Release", planned_go_live=dt.date(2021, 6, 24))
        db.session.add(june)
        db.session.commit()
        june_id = june.id
    entry = one(app, ScopeEntry, mp_id=one_mp_id(app, "MP095"))
    client.login(users["secas"])
    form = client.get(f"{BASE}/scope/{entry.id}/edit").get_data(as_text=True)
    assert "June 2021 SEC Release" in form
    response = client.post_form(f"{BASE}/scope/{entry.id}/edit", {
        "status": "moved", "cutoff_date": ["", "", ""], "summary": entry.summary, "moved_to_id": str(june_id)},
        htmx=True)
    assert response.status_code == 200
    assert row_cells(response.get_data(as_text=True), f"scope-{entry.id}")[3] == "Moved to June 2021 SEC Release"
    assert one(app, ScopeEntry, id=entry.id).moved_to_id == june_id


# --- Focused service rules ---

def test_services_refuse_non_secas_and_missing_change_notes(app, make_release, users):
    from portal.access import Invalid, PermissionDenied, Role
    from portal.releases import services

    make_release()
    with app.app_context():
        release = db.session.scalar(sa.select(Release))
        milestone = release.milestones[0]
        with pytest.raises(PermissionDenied):
            services.update_milestone(db.session.merge(users["dcc"]), release, milestone, due_on=milestone.due_on,
                                      event="x", notes="", acting_role=Role.DCC)
        secas = db.session.merge(users["secas"])
        assert services.update_milestone(secas, release, milestone, due_on=milestone.due_on, event=milestone.event,
                                         notes=milestone.notes, acting_role=milestone.acting_role) is False
        services.baseline_rid(db.session.merge(users["panel_chair"]), release, meeting_on=dt.date(2020, 10, 14),
                              minute_ref="84/03")
        assert release.current_rid.number == "1.0"
        with pytest.raises(Invalid):
            services.add_criterion(secas, release, text="New", owner_role=Role.DCC, change_note="  ")
        services.add_criterion(secas, release, text="New", owner_role=Role.DCC, change_note="Criterion 11 added.")
        assert release.current_rid.number == "1.1"
        assert release.current_rid.snapshot["criteria"][-1]["text"] == "New"
