"""Every typed date lies between 2000 and 2100: outside, the form says so in the error summary and stores nothing."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from decisions_support import assess_all, client_for, decided, open_vote, recommend
from releases_html import page_text

from portal.criteria.models import EvidenceRequest
from portal.decisions.models import Vote
from portal.extensions import db
from portal.releases.models import Milestone, MilestoneKind, Release, ScopeEntry, Stage

BASE = "/releases/feb-2021"
# 31 December 9999 once overflowed date sums (a 500); 1999 is simply before any release.
YEARS = ["1999", "9999"]
SUMMARY_RE = re.compile(r'<ul class="govuk-list govuk-error-summary__list">(.*?)</ul>', re.S)


def refused(response, what: str) -> None:
    assert response.status_code == 422
    summary = SUMMARY_RE.search(response.get_data(as_text=True))
    assert summary, "no error summary"
    assert f"{what} must be between 1 January 2000 and 31 December 2100" in page_text(summary.group(1))


def rows(app, model, *columns):
    with app.app_context():
        return db.session.execute(sa.select(*columns).select_from(model).order_by(*columns)).all()


@pytest.mark.parametrize("year", YEARS)
def test_milestone_date(app, users, make_release, year):
    make_release()
    client = client_for(app, users["secas"])
    before = rows(app, Milestone, Milestone.id, Milestone.due_on)
    milestone_id = before[0].id
    form = {"due_on": ["31", "12", year], "event": "DCC submits evidence", "notes": "", "acting_role": "dcc"}
    refused(client.post_form(f"{BASE}/milestones/{milestone_id}/edit", form), "The date")
    refused(client.post_form(f"{BASE}/milestones/new", {**form, "kind": MilestoneKind.OTHER.value}), "The date")
    assert rows(app, Milestone, Milestone.id, Milestone.due_on) == before


@pytest.mark.parametrize("day", [dt.date(2000, 1, 1), dt.date(2100, 12, 31)])
def test_milestone_dates_at_the_bounds_are_kept(app, users, make_release, day):
    make_release()
    client = client_for(app, users["secas"])
    [(milestone_id, _)] = rows(app, Milestone, Milestone.id, Milestone.due_on)[:1]
    form = {"due_on": [str(day.day), str(day.month), str(day.year)], "event": "DCC submits evidence", "notes": "",
            "acting_role": "dcc"}
    assert client.post_form(f"{BASE}/milestones/{milestone_id}/edit", form).status_code == 303
    assert (milestone_id, day) in rows(app, Milestone, Milestone.id, Milestone.due_on)


@pytest.mark.parametrize("year", YEARS)
def test_scope_cut_off_date(app, users, make_release, year):
    make_release()
    before = rows(app, ScopeEntry, ScopeEntry.id, ScopeEntry.cutoff_date, ScopeEntry.status)
    response = client_for(app, users["secas"]).post_form(f"{BASE}/scope/{before[0].id}/edit", {
        "status": "targeted", "cutoff_date": ["31", "12", year], "summary": "x", "moved_to_id": ""})
    refused(response, "The decision cut-off date")
    assert rows(app, ScopeEntry, ScopeEntry.id, ScopeEntry.cutoff_date, ScopeEntry.status) == before


@pytest.mark.parametrize("year", YEARS)
def test_evidence_request_answer_by_date(app, users, make_release, year):
    make_release(Stage.OPSG_REVIEW)
    response = client_for(app, users["opsg"]).post_form(f"{BASE}/criteria/1/requests", {
        "question": "Please add the TOC runbook.", "due_on": ["31", "12", year]})
    refused(response, "The answer-by date")
    assert rows(app, EvidenceRequest, EvidenceRequest.id) == []


@pytest.mark.parametrize("year", YEARS)
def test_replan_new_go_live_date(app, users, make_release, year):
    release = decided(app, users, make_release(Stage.OPSG_REVIEW), [users["panel_chair"], users["panel"]],
                      ("no_go", "no_go"))
    before = rows(app, Release, Release.stage, Release.planned_go_live)
    milestones = rows(app, Milestone, Milestone.id, Milestone.due_on)
    response = client_for(app, users["secas"]).post_form(f"/releases/{release.code}/replan", {
        "new_go_live": ["31", "12", year], "change_note": "Deferred.", "move_mp": "0", "move_to": "0"})
    refused(response, "The new go-live date")
    assert rows(app, Release, Release.stage, Release.planned_go_live) == before
    assert before[0].stage == Stage.DEFERRED
    assert rows(app, Milestone, Milestone.id, Milestone.due_on) == milestones


@pytest.mark.parametrize("year", YEARS)
def test_vote_closing_time(app, users, make_release, year):
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    assert recommend(client_for(app, users["opsg_chair"]), release.code).status_code == 303
    refused(open_vote(client_for(app, users["panel_chair"]), release.code, f"31/12/{year} 23:59"), "The closing time")
    assert rows(app, Vote, Vote.id) == []


@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("field, what", [("date_from", "The ‘from’ date"), ("date_to", "The ‘to’ date")])
def test_audit_trail_filter_dates(app, users, make_release, year, field, what):
    make_release()
    response = client_for(app, users["panel"]).get(f"{BASE}/audit",
                                                   query_string=[(field, "31"), (field, "12"), (field, year)])
    refused(response, what)
