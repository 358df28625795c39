"""SECAS writes the whole RID: adds, removes and reorders rows of every section, with and without JavaScript."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.releases.models import (ChangeRequest, CostItem, Criterion, GlossaryTerm, ImpactSummary, Milestone,
                                    ModificationProposal, OtherCodeImpact, ParticipantGroup, Release, RidVersion,
                                    ScopeEntry, ScopeStatus, SecDocument)
from portal.releases.models import TestPhase as Phase
from releases_html import page_text, row_cells

BASE = "/releases/feb-2021"
NO_APPROVED = "There are no modifications currently approved for this release."
NO_CRS = "There are no DCC Change Requests planned to be implemented alongside this SEC Release."
NO_OTHER_CODES = "No other Codes are impacted as a result of this release."


def one(app, model, **where):
    with app.app_context():
        row = db.session.scalars(sa.select(model).filter_by(**where)).first()
        if row is not None:
            db.session.expunge(row)
        return row


def count(app, model, **where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**where))


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def text_of(client, url=BASE) -> str:
    return page_text(client.get(url).get_data(as_text=True))


def scope_form(**overrides) -> dict:
    data = {"reference": "MP200", "title": "Faster switching", "url": "https://example.org/mp200",
            "status": "approved", "cutoff_date": ["", "", ""], "summary": "proposes faster switching."}
    return {**data, **overrides}


@pytest.fixture
def secas(client, users, make_release):
    make_release()
    client.login(users["secas"])
    return client


def baseline(client, users):
    client.logout()
    client.login(users["panel_chair"])
    assert client.post_form(f"{BASE}/baseline", {"meeting_on": ["14", "10", "2020"],
                                                 "minute_ref": "84/03"}).status_code == 303
    client.logout()
    client.login(users["secas"])


def june(app, **kw) -> int:
    with app.app_context():
        release = Release(code="jun-2021", name="June 2021 SEC Release", planned_go_live=dt.date(2021, 6, 24), **kw)
        db.session.add(release)
        db.session.commit()
        return release.id


# --- 1. Scope --------------------------------------------------------------------------------------

def test_a_new_modification_is_added_inline_and_the_no_approved_sentence_goes(secas, app):
    assert NO_APPROVED in text_of(secas)
    form = secas.get(f"{BASE}/scope/new", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert form.lstrip().startswith('<div id="add-scope"') and 'name="reference"' in form
    response = secas.post_form(f"{BASE}/scope/new", scope_form(), htmx=True)
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#rid-document"
    html = response.get_data(as_text=True)
    entry = one(app, ScopeEntry, mp_id=one(app, ModificationProposal, reference="MP200").id)
    assert entry.status == ScopeStatus.APPROVED and entry.summary == "proposes faster switching."
    assert row_cells(html, f"scope-{entry.id}")[:4] == ["MP200 ‘Faster switching’", "proposes faster switching.",
                                                        "Not stated in the RID", "Approved"]
    assert NO_APPROVED not in page_text(html)
    assert NO_APPROVED not in text_of(secas)
    assert actions(app)[-1] == "rid.scope_added"


def test_approving_a_targeted_modification_removes_the_derived_sentence(secas, app):
    entry = one(app, ScopeEntry, mp_id=one(app, ModificationProposal, reference="MP092").id)
    with app.app_context():
        assert db.session.scalar(sa.select(Release.approved_mps_note)) == ""  # derived, not stored
    response = secas.post_form(f"{BASE}/scope/{entry.id}/edit", {
        "status": "approved", "cutoff_date": ["", "", ""], "summary": entry.summary, "moved_to_id": ""})
    assert response.status_code == 303
    text = text_of(secas)
    assert NO_APPROVED not in text and "Approved Modification Proposals" in text


def test_an_existing_modification_is_added_by_reference_with_a_plain_form(secas, app):
    june_id = june(app)
    with app.app_context():
        db.session.add(ModificationProposal(reference="MP122A", title="Operational Metrics alternative"))
        db.session.commit()
    response = secas.post_form("/releases/jun-2021/scope/new", scope_form(
        reference="mp122a", title="", url="", status="targeted", cutoff_date=["1", "6", "2021"],
        summary="the alternative."))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/releases/jun-2021#scope")
    entry = one(app, ScopeEntry, release_id=june_id)
    assert (entry.status, entry.cutoff_date) == (ScopeStatus.TARGETED, dt.date(2021, 6, 1))
    assert count(app, ModificationProposal, reference="MP122A") == 1  # the same MP, not a second one


@pytest.mark.parametrize("data, message", [
    (scope_form(status="targeted"), "Enter the decision cut-off date: a targeted modification needs one"),
    (scope_form(status="targeted", cutoff_date=["26", "2", "2021"]),
     "The decision cut-off date must be on or before the planned go-live, 25 February 2021"),
    (scope_form(reference="MP300", title=""), "Enter the title of MP300: it is not yet in the portal"),
    (scope_form(reference="MP092"), "MP092 is already in this release’s scope".replace("’", "'")),
    (scope_form(reference=""), "Enter the modification&#39;s reference, like MP122"),
    (scope_form(status="moved"), "Select one of the options shown"),
    (scope_form(url="javascript:alert(1)"), "Enter the link as a web address starting https://"),
    (scope_form(cutoff_date=["31", "2", "2021"]), "Enter a real date"),
])
def test_bad_scope_additions_are_refused_and_nothing_stored(secas, app, data, message):
    before = (count(app, ScopeEntry), count(app, ModificationProposal), len(actions(app)))
    for htmx in (False, True):
        response = secas.post_form(f"{BASE}/scope/new", data, htmx=htmx)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "There is a problem" in html
        assert message in html.replace("&#39;", "'") or message in html
    assert (count(app, ScopeEntry), count(app, ModificationProposal), len(actions(app))) == before


def test_a_modification_targeted_in_another_release_is_refused(secas, app):
    june(app)
    response = secas.post_form("/releases/jun-2021/scope/new", scope_form(
        reference="MP092", title="", url="", status="approved"))
    assert response.status_code == 422
    assert ("MP092 is already targeted in the February 2021 SEC Release: move it from there first"
            in page_text(response.get_data(as_text=True)))
    assert count(app, ScopeEntry, release_id=one(app, Release, code="jun-2021").id) == 0


def test_a_scope_entry_the_matrices_refer_to_cannot_be_removed_but_a_new_one_can(secas, app):
    ticked = one(app, ScopeEntry, mp_id=one(app, ModificationProposal, reference="MP092").id)
    response = secas.post_form(f"{BASE}/scope/{ticked.id}/remove", {}, htmx=True)
    assert response.status_code == 409
    assert "MP092 cannot be removed: the participant impact matrix and the SEC document impact matrix still " \
           "tick it" in response.get_data(as_text=True)
    assert one(app, ScopeEntry, id=ticked.id) is not None

    secas.post_form(f"{BASE}/scope/new", scope_form())
    entry = one(app, ScopeEntry, mp_id=one(app, ModificationProposal, reference="MP200").id)
    assert 'action="/releases/feb-2021/scope/%d/remove"' % entry.id in secas.get(BASE).get_data(as_text=True)
    response = secas.post_form(f"{BASE}/scope/{entry.id}/remove", {})
    assert response.status_code == 303 and response.headers["Location"].endswith("#scope")
    assert one(app, ScopeEntry, id=entry.id) is None
    assert actions(app)[-1] == "rid.scope_removed"
    assert "MP200" not in text_of(secas)


def test_scope_entries_move_up_and_down_within_their_list(secas, app):
    mp095 = one(app, ScopeEntry, mp_id=one(app, ModificationProposal, reference="MP095").id)
    response = secas.post_form(f"{BASE}/scope/{mp095.id}/reorder", {"direction": "up"}, htmx=True)
    assert response.status_code == 200
    text = page_text(response.get_data(as_text=True))
    assert text.index("MP095 ‘Alignment") < text.index("MP092 ‘New Planned")
    assert actions(app)[-1] == "rid.scope_moved"
    with app.app_context():
        release = db.session.scalar(sa.select(Release))
        assert [e["mp"] for e in release.rid_live["scope"]][:2] == ["MP095", "MP092"]
    # The first cannot move further up: the refusal says why, nothing changes, nothing is audited.
    events = len(actions(app))
    response = secas.post_form(f"{BASE}/scope/{mp095.id}/reorder", {"direction": "up"})
    assert response.status_code == 409
    assert "Scope entry MP095 is already first in its list, so it cannot move up." in \
        page_text(response.get_data(as_text=True))
    assert len(actions(app)) == events
    assert secas.post_form(f"{BASE}/scope/{mp095.id}/reorder", {"direction": "sideways"}).status_code == 422


# --- 2. DCC Change Requests -----------------------------------------------------------------------

def test_change_requests_are_added_changed_moved_and_removed(secas, app):
    assert NO_CRS in text_of(secas)
    response = secas.post_form(f"{BASE}/change-requests/new", {"reference": "CR1234", "title": "Faster PMR"},
                               htmx=True)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#rid-document"
    text = page_text(response.get_data(as_text=True))
    assert "CR1234 ‘Faster PMR’" in text and NO_CRS not in text
    secas.post_form(f"{BASE}/change-requests/new", {"reference": "CR1300", "title": "Metrics"})
    first, second = one(app, ChangeRequest, reference="CR1234"), one(app, ChangeRequest, reference="CR1300")

    response = secas.post_form(f"{BASE}/change-requests/{first.id}/edit", {"reference": "CR1300", "title": "x"})
    assert response.status_code == 422 and "Change Request CR1300 is already in this RID" in \
        response.get_data(as_text=True)
    assert secas.post_form(f"{BASE}/change-requests/{first.id}/edit",
                           {"reference": "CR1234", "title": "Faster PMR reports"}).status_code == 303
    assert one(app, ChangeRequest, id=first.id).title == "Faster PMR reports"

    assert secas.post_form(f"{BASE}/change-requests/{second.id}/reorder", {"direction": "up"}).status_code == 303
    text = text_of(secas)
    assert text.index("CR1300 ‘Metrics’") < text.index("CR1234 ‘Faster PMR reports’")

    for row in (first, second):
        assert secas.post_form(f"{BASE}/change-requests/{row.id}/remove", {}).status_code == 303
    assert count(app, ChangeRequest) == 0 and NO_CRS in text_of(secas)
    assert {"rid.change_request_added", "rid.change_request_changed", "rid.change_request_moved",
            "rid.change_request_removed"} <= set(actions(app))


def test_a_change_request_needs_a_reference_and_a_title(secas, app):
    response = secas.post_form(f"{BASE}/change-requests/new", {"reference": "", "title": ""}, htmx=True)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="add-change-request"')
    assert "Enter the Change Request&#39;s title" in html
    assert count(app, ChangeRequest) == 0


# --- 3. Glossary -----------------------------------------------------------------------------------

def test_glossary_entries_are_added_changed_and_removed(secas, app):
    response = secas.post_form(f"{BASE}/glossary/new", {"acronym": "OPSG", "term": "Operations Group"},
                               htmx=True)
    assert response.status_code == 200
    term = one(app, GlossaryTerm, acronym="OPSG")
    assert row_cells(response.get_data(as_text=True), f"glossary-{term.id}")[:2] == ["OPSG", "Operations Group"]
    assert secas.post_form(f"{BASE}/glossary/{term.id}/edit",
                           {"acronym": "OpsG", "term": "Operations Group"}).status_code == 303
    assert one(app, GlossaryTerm, id=term.id).acronym == "OpsG"
    assert secas.post_form(f"{BASE}/glossary/{term.id}/remove", {}).status_code == 303
    assert one(app, GlossaryTerm, id=term.id) is None
    assert [a for a in actions(app) if a.startswith("rid.glossary")] == [
        "rid.glossary_added", "rid.glossary_changed", "rid.glossary_removed"]


def test_a_duplicate_acronym_gets_a_clear_message(secas, app):
    before = count(app, GlossaryTerm)
    for htmx in (False, True):
        response = secas.post_form(f"{BASE}/glossary/new", {"acronym": "DCC", "term": "Again"}, htmx=htmx)
        assert response.status_code == 422
        assert "DCC is already in the glossary: change its entry instead" in response.get_data(as_text=True)
    sit = one(app, GlossaryTerm, acronym="SIT")
    response = secas.post_form(f"{BASE}/glossary/{sit.id}/edit", {"acronym": "PIT", "term": "x"})
    assert response.status_code == 422 and "PIT is already in the glossary" in response.get_data(as_text=True)
    assert count(app, GlossaryTerm) == before and one(app, GlossaryTerm, id=sit.id).acronym == "SIT"


def test_once_baselined_a_removal_needs_a_change_note_and_makes_a_version(secas, users, app):
    baseline(secas, users)
    term = one(app, GlossaryTerm, acronym="ADT")
    page = secas.get(BASE).get_data(as_text=True)
    # Baselined: Remove is a link to a form that asks for the change note, not a one-click button.
    assert f'href="{BASE}/glossary/{term.id}/remove"' in page
    form = secas.get(f"{BASE}/glossary/{term.id}/remove").get_data(as_text=True)
    assert 'name="change_note"' in form
    response = secas.post_form(f"{BASE}/glossary/{term.id}/remove", {})
    assert response.status_code == 422 and "Enter a change note" in response.get_data(as_text=True)
    assert one(app, GlossaryTerm, id=term.id) is not None and count(app, RidVersion) == 2
    response = secas.post_form(f"{BASE}/glossary/{term.id}/remove", {"change_note": "ADT is not used."})
    assert response.status_code == 303
    latest = one(app, RidVersion, major=1, minor=1)
    assert latest.change_note == "ADT is not used."
    assert "ADT" not in [g["acronym"] for g in latest.snapshot["glossary"]]
    assert "ADT" in [g["acronym"] for g in one(app, RidVersion, major=1, minor=0).snapshot["glossary"]]


# --- 4. Other Codes, impact summaries, the matrices --------------------------------------------------

def test_other_code_impacts_are_added_changed_and_removed(secas, app):
    assert NO_OTHER_CODES in text_of(secas)
    response = secas.post_form(f"{BASE}/other-codes/new", {"code": "BSC", "description": "Settlement changes."},
                               htmx=True)
    assert response.status_code == 200 and NO_OTHER_CODES not in page_text(response.get_data(as_text=True))
    row = one(app, OtherCodeImpact, code="BSC")
    assert secas.post_form(f"{BASE}/other-codes/{row.id}/edit",
                           {"code": "BSC", "description": "Settlement data."}).status_code == 303
    assert "BSC Settlement data." in text_of(secas)
    assert secas.post_form(f"{BASE}/other-codes/{row.id}/remove", {}).status_code == 303
    assert count(app, OtherCodeImpact) == 0 and NO_OTHER_CODES in text_of(secas)


def test_impact_summaries_are_added_to_their_group_and_removed(secas, app):
    response = secas.post_form(f"{BASE}/impact-summaries/new", {
        "kind": "dcc", "subject": "Contractual changes", "text": "New supplier terms."})
    assert response.status_code == 303
    text = text_of(secas)
    # Added to the end of its own group, before the next group.
    assert text.index("New supplier terms.") < text.index("Area impacted: Regulatory changes")
    row = one(app, ImpactSummary, text="New supplier terms.")
    assert secas.post_form(f"{BASE}/impact-summaries/{row.id}/remove", {}, htmx=True).status_code == 200
    assert one(app, ImpactSummary, id=row.id) is None
    response = secas.post_form(f"{BASE}/impact-summaries/new", {"kind": "nobody", "subject": "", "text": ""})
    assert response.status_code == 422 and "Enter who or what is impacted" in response.get_data(as_text=True)


def test_a_participant_group_and_an_sec_document_are_added(secas, app):
    response = secas.post_form(f"{BASE}/participant-groups/new", {"name": "Device Manufacturers"}, htmx=True)
    assert response.status_code == 200
    assert "Device Manufacturers" in page_text(response.get_data(as_text=True))
    response = secas.post_form(f"{BASE}/participant-groups/new", {"name": "suppliers"})
    assert response.status_code == 422 and "suppliers is already a participant group" in \
        response.get_data(as_text=True)
    assert secas.post_form(f"{BASE}/sec-documents/new",
                           {"name": "Section X", "title": "Transition"}).status_code == 303
    assert count(app, ParticipantGroup) == 6 and count(app, SecDocument) == 5
    with app.app_context():
        release = db.session.scalar(sa.select(Release))
        assert "Section X" in [d["name"] for d in release.rid_live["sec_documents"]]
    assert {"rid.participant_group_added", "rid.sec_document_added"} <= set(actions(app))


# --- 5. Test phases ---------------------------------------------------------------------------------

def test_a_test_phase_is_required_with_its_reason(secas, app):
    sit = one(app, Phase, phase="SIT")
    form = secas.get(f"{BASE}/test-phases/{sit.id}/edit", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'value="no" checked' in form
    response = secas.post_form(f"{BASE}/test-phases/{sit.id}/edit",
                               {"applies": "yes", "reason": "MP122 changes the DCC System."}, htmx=True)
    assert response.status_code == 200
    stored = one(app, Phase, id=sit.id)
    assert (stored.applies, stored.reason) == (True, "MP122 changes the DCC System.")
    assert "Systems Integration Testing (SIT) Required MP122 changes the DCC System." in \
        page_text(response.get_data(as_text=True))
    assert secas.post_form(f"{BASE}/test-phases/{sit.id}/edit", {"reason": "x"}).status_code == 422


def test_a_test_phase_is_added_and_removed(secas, app):
    response = secas.post_form(f"{BASE}/test-phases/new", {"phase": "sit", "name": "Again", "applies": "no"})
    assert response.status_code == 422 and "Test phase SIT is already in this RID" in response.get_data(as_text=True)
    response = secas.post_form(f"{BASE}/test-phases/new", {
        "phase": "uept", "name": "User Entry Process Testing", "applies": "yes", "reason": "New users."},
        htmx=True)
    assert response.status_code == 200
    assert "User Entry Process Testing (UEPT) Required New users." in page_text(response.get_data(as_text=True))
    added = one(app, Phase, phase="UEPT")
    assert added.position > one(app, Phase, phase="UIT").position and actions(app)[-1] == "rid.test_phase_added"
    response = secas.post_form(f"{BASE}/test-phases/{added.id}/remove", {})
    assert response.status_code == 303 and response.headers["Location"].endswith("#test-strategy")
    assert one(app, Phase, id=added.id) is None and actions(app)[-1] == "rid.test_phase_removed"


# --- 6. Costs ---------------------------------------------------------------------------------------

def test_the_demo_costs_read_as_the_rid_words_them(secas, app):
    text = text_of(secas)
    assert "DCC implementation costs, due to the implementation of MP122 Estimated to be £340,000" in text
    assert "Two days of effort to update and implement the changes to the SEC Around £1,200" in text


def test_a_cost_is_added_with_its_qualifier_and_removed(secas, app):
    response = secas.post_form(f"{BASE}/costs/new", {"party": "SECAS", "description": "Extra testing",
                                                     "amount_pence": "1,500.50", "qualifier": "around",
                                                     "budgeted": "yes"}, htmx=True)
    assert response.status_code == 200
    item = one(app, CostItem, description="Extra testing")
    assert (item.amount_pence, item.qualifier, item.already_budgeted) == (150050, "around", True)
    assert row_cells(response.get_data(as_text=True), f"cost-{item.id}")[:3] == [
        "Extra testing", "Around £1,500.50", "Yes"]
    assert "Total" not in page_text(response.get_data(as_text=True))  # the RID states no totals
    response = secas.post_form(f"{BASE}/costs/new", {"party": "SECAS", "description": "x", "amount_pence": "-1",
                                                     "qualifier": "roughly", "budgeted": "no"})
    assert response.status_code == 422
    assert secas.post_form(f"{BASE}/costs/{item.id}/remove", {}).status_code == 303
    assert one(app, CostItem, id=item.id) is None and actions(app)[-1] == "rid.cost_removed"


# --- 7. Criteria and milestones ---------------------------------------------------------------------

def test_a_criterion_without_evidence_is_removed_one_with_evidence_is_refused(secas, users, app):
    from portal.criteria.evidence_models import EvidenceStatement

    first, last = one(app, Criterion, number=1), one(app, Criterion, number=10)
    with app.app_context():
        db.session.add(EvidenceStatement(criterion_id=first.id, text="Ready.", written_by_id=users["dcc"].id))
        db.session.commit()
    response = secas.post_form(f"{BASE}/criteria/{first.id}/remove", {})
    assert response.status_code == 409
    assert "Criterion 1 has evidence, so it cannot be removed: withdraw it instead (its record stays)." in \
        response.get_data(as_text=True)
    assert secas.post_form(f"{BASE}/criteria/{last.id}/remove", {}, htmx=True).status_code == 200
    assert count(app, Criterion) == 9 and actions(app)[-1] == "rid.criterion_removed"


def test_only_other_events_leave_the_timeline(secas, app):
    go_live = one(app, Milestone, event="Release go-live")
    response = secas.post_form(f"{BASE}/milestones/{go_live.id}/remove", {})
    assert response.status_code == 409 and "change its date instead" in response.get_data(as_text=True)
    secas.post_form(f"{BASE}/milestones/new", {"kind": "other", "due_on": ["1", "12", "2020"],
                                               "event": "Industry webinar", "notes": "", "acting_role": "secas"})
    webinar = one(app, Milestone, event="Industry webinar")
    assert f'{BASE}/milestones/{webinar.id}/remove' in secas.get(BASE).get_data(as_text=True)
    assert secas.post_form(f"{BASE}/milestones/{webinar.id}/remove", {}).status_code == 303
    assert one(app, Milestone, id=webinar.id) is None


# --- 8. Narratives ----------------------------------------------------------------------------------

def test_a_sections_narrative_is_changed_inline_or_on_a_page(secas, app):
    url = f"{BASE}/narrative/targeted_mps_note/edit"
    form = secas.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert form.lstrip().startswith('<div id="narrative-panel"')
    assert "No further modifications are expected to be added." in form
    response = secas.post_form(url, {"text": "MP130 may be added in September."}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#rid-document"
    assert "MP130 may be added in September." in page_text(response.get_data(as_text=True))
    response = secas.post_form(f"{BASE}/narrative/about/edit", {"text": "About this release."})
    assert response.status_code == 303
    assert one(app, Release, code="feb-2021").about == "About this release."
    assert actions(app)[-2:] == ["rid.narrative_changed", "rid.narrative_changed"]
    assert secas.get(f"{BASE}/narrative/code/edit").status_code == 404
    response = secas.post_form(url, {"text": "x" * 4001})
    assert response.status_code == 422 and "4,000 characters or fewer" in response.get_data(as_text=True)


# --- Who may ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["dcc", "opsg_chair", "panel_chair"])
def test_only_secas_writes_the_rid(client, users, make_release, app, who):
    make_release()
    client.login(users[who])
    events = len(actions(app))
    term = one(app, GlossaryTerm, acronym="ADT")
    for url, data in [(f"{BASE}/scope/new", scope_form()), (f"{BASE}/glossary/{term.id}/remove", {}),
                      (f"{BASE}/narrative/about/edit", {"text": "x"}), (f"{BASE}/glossary/new", {})]:
        assert client.get(url).status_code == 403
        assert client.post_form(url, data).status_code == 403
    assert len(actions(app)) == events and one(app, GlossaryTerm, id=term.id) is not None
    assert "Add a glossary entry" not in text_of(client)


def test_a_live_release_cannot_be_written(client, users, make_release, app):
    from portal.releases.models import Stage

    make_release(Stage.LIVE)
    client.login(users["secas"])
    assert client.post_form(f"{BASE}/glossary/new", {"acronym": "X", "term": "Y"}).status_code == 409
    assert count(app, GlossaryTerm, acronym="X") == 0


def test_an_existing_costs_qualifier_and_budgeting_change(secas, app):
    item = one(app, CostItem, party="DCC")
    form = secas.get(f"{BASE}/costs/{item.id}/edit").get_data(as_text=True)
    assert 'value="estimated" checked' in form and 'value="no" checked' in form
    response = secas.post_form(f"{BASE}/costs/{item.id}/edit", {
        "party": "DCC", "description": item.description, "amount_pence": "340,000", "qualifier": "fixed",
        "budgeted": "yes"}, htmx=True)
    assert response.status_code == 200
    assert row_cells(response.get_data(as_text=True), f"cost-{item.id}")[1:3] == ["£340,000", "Yes"]
    stored = one(app, CostItem, id=item.id)
    assert (stored.qualifier, stored.already_budgeted) == ("fixed", True)
    response = secas.post_form(f"{BASE}/costs/{item.id}/edit", {
        "party": "DCC", "description": item.description, "amount_pence": "340,000", "qualifier": "guess"})
    assert response.status_code == 422 and one(app, CostItem, id=item.id).qualifier == "fixed"


def test_a_snapshot_that_stored_a_derived_sentence_shows_it_once(app):
    from portal.releases.rid_view import rid_view

    snapshot = {"release": {"code": "x", "name": "X", "planned_go_live": "2021-02-25", "notes": {
        "approved_mps_note": NO_APPROVED, "change_requests_note": NO_CRS, "other_codes_note": "Also the BSC."}},
        "scope": [], "change_requests": [], "participant_impacts": [], "document_impacts": [],
        "impact_summaries": [], "other_code_impacts": [], "milestones": [], "test_phases": [], "cost_items": [],
        "criteria": [], "glossary": []}
    rid = rid_view(snapshot)
    assert rid["notes"]["approved_mps_note"] == "" and rid["notes"]["change_requests_note"] == ""
    assert rid["notes"]["other_codes_note"] == "Also the BSC."  # a narrative of its own stays
    assert rid["derived"] == {"approved": NO_APPROVED, "change_requests": NO_CRS, "other_codes": NO_OTHER_CODES}


def test_once_baselined_moving_asks_for_the_change_note_on_a_page(secas, users, app):
    baseline(secas, users)
    mp095 = one(app, ScopeEntry, mp_id=one(app, ModificationProposal, reference="MP095").id)
    page = secas.get(BASE).get_data(as_text=True)
    assert f'href="{BASE}/scope/{mp095.id}/reorder?direction=up"' in page
    form = secas.get(f"{BASE}/scope/{mp095.id}/reorder?direction=up").get_data(as_text=True)
    assert 'value="up" checked' in form and 'name="change_note"' in form
    assert secas.post_form(f"{BASE}/scope/{mp095.id}/reorder", {"direction": "up"}).status_code == 422
    response = secas.post_form(f"{BASE}/scope/{mp095.id}/reorder", {"direction": "up", "change_note": "Reordered."})
    assert response.status_code == 303
    latest = one(app, RidVersion, major=1, minor=1)
    assert [e["mp"] for e in latest.snapshot["scope"]][:2] == ["MP095", "MP092"]


def test_changing_a_scope_entry_keeps_the_same_rules(secas, app):
    june_id = june(app)
    entry = one(app, ScopeEntry, mp_id=one(app, ModificationProposal, reference="MP111").id)
    url = f"{BASE}/scope/{entry.id}/edit"
    for htmx in (False, True):
        response = secas.post_form(url, {"status": "targeted", "cutoff_date": ["1", "3", "2021"],
                                         "summary": entry.summary, "moved_to_id": ""}, htmx=htmx)
        assert response.status_code == 422
        assert "There is a problem" in response.get_data(as_text=True)
        assert "must be on or before the planned go-live, 25 February 2021" in response.get_data(as_text=True)
    # Moved to June (the one move action: it is targeted there now), it cannot be targeted here again.
    assert secas.post_form(url, {"status": "moved", "cutoff_date": ["", "", ""], "summary": entry.summary,
                                 "moved_to_id": str(june_id)}).status_code == 303
    assert one(app, ScopeEntry, release_id=june_id, mp_id=entry.mp_id).status == ScopeStatus.TARGETED
    assert secas.post_form("/releases/jun-2021/scope/new", scope_form(
        reference="MP111", title="", url="", status="targeted", cutoff_date=["1", "6", "2021"])).status_code == 422
    response = secas.post_form(url, {"status": "targeted", "cutoff_date": ["", "", ""], "summary": entry.summary,
                                     "moved_to_id": ""})
    assert response.status_code == 422
    assert "MP111 is already targeted in the June 2021 SEC Release" in page_text(response.get_data(as_text=True))
    assert one(app, ScopeEntry, id=entry.id).status == ScopeStatus.MOVED


@pytest.mark.parametrize("path, panel", [
    ("scope/new", "add-scope"), ("change-requests/new", "add-change-request"), ("glossary/new", "add-glossary"),
    ("other-codes/new", "add-other-code"), ("impact-summaries/new", "add-summary"),
    ("participant-groups/new", "add-participant-group"), ("sec-documents/new", "add-sec-document"),
    ("costs/new", "add-cost"), ("test-phases/new", "add-test-phase"), ("narrative/about/edit", "narrative-panel"),
])
def test_every_add_form_is_a_fragment_in_place_of_its_link_and_a_page(secas, app, path, panel):
    url = f"{BASE}/{path}"
    page = secas.get(BASE).get_data(as_text=True)
    assert f'id="{panel}"' in page and f'hx-get="{url}"' in page
    fragment = secas.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.get_data(as_text=True).lstrip().startswith(f'<div id="{panel}"')
    assert "<html" in secas.get(url).get_data(as_text=True)
    events = len(actions(app))
    if path.startswith("narrative"):
        return  # an empty narrative is allowed
    for htmx in (False, True):
        response = secas.post_form(url, {}, htmx=htmx)
        assert response.status_code == 422 and "There is a problem" in response.get_data(as_text=True)
    assert len(actions(app)) == events
