"""Go: the go-live confirmations. No-go: deferral, re-planning and re-assessment marks."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from decisions_support import client_for, confirm, count, decided, stage_of
from releases_html import page_text

from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.criteria.models import Assessment
from portal.decisions.models import GoLiveConfirmation, ReassessmentMark
from portal.extensions import db
from portal.releases.models import MilestoneKind, Release, ScopeEntry, ScopeStatus, Stage
from portal.tasks import tasks_for
from portal.timeutil import move_by_working_days


@pytest.fixture
def panel(users):
    return [users["panel_chair"], users["panel"]]


@pytest.fixture
def approved(app, users, make_release, panel):
    return decided(app, users, make_release(Stage.OPSG_REVIEW), panel, ("go", "go"))


@pytest.fixture
def deferred(app, users, make_release, panel):
    return decided(app, users, make_release(Stage.OPSG_REVIEW), panel, ("no_go", "no_go"))


def _task_titles(app, user) -> list[str]:
    with app.test_request_context():
        return [t.title for t in tasks_for(db.session.get(User, user.id))]


def test_go_live_before_the_decision_is_refused(app, users, make_release):
    release = make_release(Stage.PANEL_VOTE)
    response = confirm(client_for(app, users["secas"]), release.code, "readiness")
    assert response.status_code == 409 and "possible only during Approved to go live" in response.get_data(as_text=True)
    assert count(app, GoLiveConfirmation) == 0


def test_go_live_confirmations_make_the_release_live(app, users, approved):
    secas, dcc = client_for(app, users["secas"]), client_for(app, users["dcc"])
    assert "Confirm: SECAS ready to implement on the agreed date" in _task_titles(app, users["secas"])
    assert confirm(dcc, approved.code, "deployment").status_code == 409  # readiness first
    assert confirm(dcc, approved.code, "readiness").status_code == 403
    assert confirm(client_for(app, users["opsg"]), approved.code, "readiness").status_code == 403
    assert confirm(secas, approved.code, "readiness", password="wrong").status_code == 422
    assert confirm(secas, approved.code, "readiness").status_code == 303
    assert confirm(secas, approved.code, "readiness").status_code == 409
    assert confirm(secas, approved.code, "sec_implemented").status_code == 422  # no version
    assert confirm(secas, approved.code, "sec_implemented", "version forty").status_code == 422
    assert confirm(secas, approved.code, "sec_implemented", "SEC v40.0").status_code == 303
    assert stage_of(app, approved) == Stage.APPROVED
    assert "Confirm: DCC deployment confirmed" in _task_titles(app, users["dcc"])
    assert confirm(dcc, approved.code, "deployment").status_code == 303
    assert stage_of(app, approved) == Stage.LIVE
    assert count(app, GoLiveConfirmation) == 3
    with app.app_context():
        assert db.session.get(Release, approved.id).sec_version == "SEC v40.0"
    text = page_text(client_for(app, users["panel"]).get(f"/releases/{approved.code}/decision").get_data(as_text=True))
    assert "SEC changes implemented (new SEC version): SEC v40.0" in text and "Waiting" not in text


def test_no_go_defers_and_secas_replans_with_a_shifted_timeline(app, users, deferred, make_release):
    assert stage_of(app, deferred) == Stage.DEFERRED
    assert "Re-plan the deferred release: set a new go-live date" in _task_titles(app, users["secas"])
    with app.app_context():
        release = db.session.get(Release, deferred.id)
        old_date = release.planned_go_live
        dates = {m.id: (m.kind, m.due_on) for m in release.milestones}
        versions = len(release.rid_versions)
        entry = release.scope[0]
        other = Release(code="jun-2021", name="June 2021 SEC Release", planned_go_live=dt.date(2021, 6, 24))
        db.session.add(other)
        db.session.commit()
        entry_id, other_id = entry.id, other.id
    secas = client_for(app, users["secas"])
    new = old_date + dt.timedelta(days=28)
    form = {"new_go_live": [str(new.day), str(new.month), str(new.year)], "change_note": "Deferred by four weeks.",
            "move_mp": str(entry_id), "move_to": str(other_id)}
    assert secas.post_form(f"/releases/{deferred.code}/replan", {**form, "new_go_live": ["1", "1", "2020"]}
                           ).status_code == 422
    assert secas.post_form(f"/releases/{deferred.code}/replan", {**form, "new_go_live": ["31", "2", "2021"]}
                           ).status_code == 422
    assert secas.post_form(f"/releases/{deferred.code}/replan", {**form, "change_note": ""}).status_code == 422
    assert client_for(app, users["dcc"]).post_form(f"/releases/{deferred.code}/replan", form).status_code == 403
    assert stage_of(app, deferred) == Stage.DEFERRED
    assert secas.post_form(f"/releases/{deferred.code}/replan", form).status_code == 303
    # Every criterion was Met, so none reopens by itself: nobody has evidence to submit, OpsG reviews again.
    assert stage_of(app, deferred) == Stage.OPSG_REVIEW
    with app.app_context():
        release = db.session.get(Release, deferred.id)
        assert release.planned_go_live == new
        for milestone in release.milestones:
            kind, before = dates[milestone.id]
            expected = {MilestoneKind.BASELINE: before, MilestoneKind.GO_LIVE: new}.get(
                kind, move_by_working_days(before, old_date, new))
            assert milestone.due_on == expected
        assert len(release.rid_versions) == versions + 1
        assert release.current_rid.change_note == "Deferred by four weeks."
        moved = db.session.get(ScopeEntry, entry_id)
        assert moved.status == ScopeStatus.MOVED and moved.moved_to_id == other_id
        # The replan moves it through the one move service: June has it as targeted, with its summary.
        arrived = db.session.scalar(sa.select(ScopeEntry).filter_by(release_id=other_id, mp_id=moved.mp_id))
        assert arrived.status == ScopeStatus.TARGETED and arrived.summary == moved.summary
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).filter_by(
            action="scope.moved_in", release_id=other_id)) == 1
        # Earlier assessments are kept.
        assert db.session.scalar(sa.select(sa.func.count(Assessment.id))) == len(release.criteria)


def test_opsg_marks_criteria_for_reassessment_after_a_no_go(app, users, deferred):
    with app.app_context():
        criteria = {c.number: c.id for c in db.session.get(Release, deferred.id).criteria}
    opsg = client_for(app, users["opsg"])
    assert client_for(app, users["dcc"]).post_form(f"/releases/{deferred.code}/reassessment",
                                                   {"criteria": [str(criteria[1])]}).status_code == 403
    assert opsg.post_form(f"/releases/{deferred.code}/reassessment", {"criteria": []}).status_code == 422
    assert opsg.post_form(f"/releases/{deferred.code}/reassessment", {"criteria": ["999999"]}).status_code == 422
    assert opsg.post_form(f"/releases/{deferred.code}/reassessment",
                          {"criteria": [str(criteria[1]), str(criteria[9])]}).status_code == 303
    assert opsg.post_form(f"/releases/{deferred.code}/reassessment",
                          {"criteria": [str(criteria[1])]}).status_code == 422
    assert count(app, ReassessmentMark) == 2
    with app.app_context():
        release = db.session.get(Release, deferred.id)
        assert db.session.scalar(sa.select(sa.func.count(Assessment.id)).where(Assessment.is_current_final)) == \
            len(release.criteria) - 2
    assert "Reopened after the No-go: criteria 1, 9." in page_text(
        opsg.get(f"/releases/{deferred.code}/decision").get_data(as_text=True))


def test_the_release_page_shows_the_decision_and_each_users_actions(app, users, make_release, panel):
    release = make_release(Stage.OPSG_REVIEW)
    text = page_text(client_for(app, users["opsg_chair"]).get(f"/releases/{release.code}").get_data(as_text=True))
    assert "Record the OpsG recommendation: not yet." in text and "still to assess: criteria" in text
    text = page_text(client_for(app, users["panel_chair"]).get(f"/releases/{release.code}").get_data(as_text=True))
    assert "Open the Panel vote: not yet. OpsG has not recorded its recommendation yet." in text
    decided(app, users, release, panel, ("go", "go"))
    text = page_text(client_for(app, users["dcc"]).get(f"/releases/{release.code}").get_data(as_text=True))
    assert "Panel decision: Go" in text and "Implement as planned" in text
    assert "Confirm: DCC deployment confirmed: not yet. SECAS must first confirm it is ready to implement on the agreed date." in text
