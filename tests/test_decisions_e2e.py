"""The February 2021 demo release through every role over HTTP: baseline to Live, and No-go, deferral, then Go."""
from __future__ import annotations

import datetime as dt

import pytest
from conftest import PASSWORD
from decisions_support import cast, client_for, close, confirm, decide, open_vote, recommend, stage_of
from releases_html import page_text

from portal.access import Role
from portal.audit.services import verify_chain
from portal.auth.models import User
from portal.extensions import db
from portal.releases.models import Release, Stage
from portal.tasks import tasks_for
from portal.timeutil import is_working_day


@pytest.fixture
def people(app, users, make_user):
    clients = {k: client_for(app, u) for k, u in users.items()}
    members = [users["panel_chair"], users["panel"], make_user(Role.PANEL), make_user(Role.PANEL)]
    return clients, members

BASELINE = {"meeting_on": ["14", "10", "2020"], "minute_ref": "84/03"}  # the Panel meeting that baselines the RID


def _criteria(app, release) -> list[tuple[int, Role]]:
    with app.app_context():
        return [(c.number, c.owner_role) for c in db.session.get(Release, release.id).criteria]


def _ok(response) -> None:
    assert response.status_code in (200, 302, 303), page_text(response.get_data(as_text=True))[:300]


def _tasks(app, user) -> list[str]:
    with app.test_request_context():
        return [t.title for t in tasks_for(db.session.get(User, user.id))]


def _gather_evidence(app, release, clients, numbers=None) -> None:
    """Each owner writes a statement on its criteria (or just `numbers`), then the owners with open criteria
    submit: DCC and SECAS in round 1, only the owners of reopened criteria later."""
    owners = set()
    for number, owner in _criteria(app, release):
        if numbers is None or number in numbers:
            owners.add(owner.value)
            _ok(clients[owner.value].post_form(f"/releases/{release.code}/criteria/{number}/statement",
                                               {"text": f"Evidence for criterion {number}."}))
    for role in sorted(owners):
        _ok(clients[role].post_form(f"/releases/{release.code}/evidence/submit"))
    assert stage_of(app, release) == Stage.OPSG_REVIEW


def _assess(app, release, clients, numbers=None, status=None) -> None:
    """OpsG's signed final assessment of each criterion (or just `numbers`): Met, unless `status` says otherwise."""
    for number, _owner in _criteria(app, release):
        if numbers is None or number in numbers:
            _ok(clients["opsg"].post_form(f"/releases/{release.code}/criteria/{number}/assessments",
                                          {"status": (status or {}).get(number, "met"),
                                           "rationale": "Evidence is sufficient.", "kind": "final",
                                           "password": PASSWORD}))


def _replan(app, release, clients, weeks: int) -> dt.date:
    with app.app_context():
        new_date = db.session.get(Release, release.id).planned_go_live + dt.timedelta(weeks=weeks)
    while not is_working_day(new_date):
        new_date += dt.timedelta(days=1)
    _ok(clients["secas"].post_form(f"/releases/{release.code}/replan", {
        "new_go_live": [str(new_date.day), str(new_date.month), str(new_date.year)],
        "change_note": "Deferred after the Panel's No-go."}))
    return new_date


def _panel_decides(app, release, clients, members, choices) -> None:
    _ok(recommend(clients["opsg_chair"], release.code, "with_conditions", "DCC confirms its rollback plan"))
    _ok(open_vote(clients["panel_chair"], release.code))
    assert stage_of(app, release) == Stage.PANEL_VOTE
    for member, choice in zip(members, choices):
        _ok(cast(client_for(app, member), release.code, member, choice))
    _ok(close(clients["panel_chair"], release.code))
    _ok(decide(clients["panel_chair"], release.code, "Decided by the Panel."))


def _go_live(app, release, clients) -> None:
    # OpsG's condition first: the DCC marks it met, OpsG accepts it (go-live waits for it).
    assert confirm(clients["secas"], release.code, "readiness").status_code == 409
    _ok(clients["dcc"].post_form(f"/releases/{release.code}/conditions/1/met",
                                 {"statement": "The rollback plan is confirmed."}))
    _ok(clients["opsg"].post_form(f"/releases/{release.code}/conditions/1/accept"))
    _ok(confirm(clients["secas"], release.code, "readiness"))
    _ok(confirm(clients["secas"], release.code, "sec_implemented", "SEC v40.0"))
    _ok(confirm(clients["dcc"], release.code, "deployment"))
    assert stage_of(app, release) == Stage.LIVE


def test_from_baseline_to_live(app, make_release, people):
    clients, members = people
    release = make_release()
    _ok(clients["panel_chair"].post_form(f"/releases/{release.code}/baseline", BASELINE))
    assert stage_of(app, release) == Stage.EVIDENCE
    _gather_evidence(app, release, clients)
    _assess(app, release, clients)
    _panel_decides(app, release, clients, members, ("go", "go", "no_go", "go"))
    assert stage_of(app, release) == Stage.APPROVED
    _go_live(app, release, clients)
    text = page_text(clients["opsg"].get(f"/releases/{release.code}").get_data(as_text=True))
    assert "Panel decision: Go" in text and "SEC v40.0" in text
    with app.app_context():
        assert verify_chain().ok


def test_no_go_replan_round_2_with_a_reopened_criterion_then_go(app, make_release, people, users):
    clients, members = people
    release = make_release()
    _ok(clients["panel_chair"].post_form(f"/releases/{release.code}/baseline", BASELINE))
    _gather_evidence(app, release, clients)
    _assess(app, release, clients, status={8: "not_met"})
    _panel_decides(app, release, clients, members, ("no_go", "no_go", "go", "abstain"))
    assert stage_of(app, release) == Stage.DEFERRED
    # Deferred: SECAS is asked to re-plan, OpsG to choose further criteria to reopen; criterion 8 reopens itself.
    assert "Re-plan the deferred release: set a new go-live date" in _tasks(app, users["secas"])
    assert "Choose criteria to reopen" in _tasks(app, users["opsg"])
    page = page_text(clients["opsg"].get(f"/releases/{release.code}/reassessment").get_data(as_text=True))
    assert "reopen by themselves when SECAS re-plans the release" in page and "criteria 8." in page
    with app.app_context():
        criterion_9 = next(c.id for c in db.session.get(Release, release.id).criteria if c.number == 9)
    _ok(clients["opsg"].post_form(f"/releases/{release.code}/reassessment", {"criteria": [str(criterion_9)]}))
    new_date = _replan(app, release, clients, weeks=5)
    assert stage_of(app, release) == Stage.EVIDENCE
    with app.app_context():
        assert db.session.get(Release, release.id).round == 2
    # Round 2: the owners of the reopened criteria add evidence again; the others stay locked.
    assert "Add evidence for criterion 8" in _tasks(app, users["dcc"])
    assert "Add evidence for criterion 1" not in _tasks(app, users["dcc"])
    assert clients["dcc"].post_form(f"/releases/{release.code}/criteria/1/statement",
                                    {"text": "Changed."}).status_code == 409
    _gather_evidence(app, release, clients, numbers={8, 9})
    # Only the reopened criteria are assessed again; the others keep their final assessments.
    assert recommend(clients["opsg_chair"], release.code).status_code == 409
    assert "Assess criterion 8" in _tasks(app, users["opsg"]) and "Assess criterion 1" not in _tasks(app, users["opsg"])
    _assess(app, release, clients, numbers={8, 9})
    _panel_decides(app, release, clients, members, ("go", "go", "go", "no_go"))
    assert stage_of(app, release) == Stage.APPROVED
    _go_live(app, release, clients)
    with app.app_context():
        assert db.session.get(Release, release.id).planned_go_live == new_date
        assert verify_chain().ok
    criterion_8 = page_text(clients["opsg"].get(f"/releases/{release.code}/criteria/8").get_data(as_text=True))
    assert "Not met (final, round 1)" in criterion_8 and "Met (final, round 2)" in criterion_8


def test_two_no_gos_then_go(app, make_release, people):
    clients, members = people
    release = make_release()
    _ok(clients["panel_chair"].post_form(f"/releases/{release.code}/baseline", BASELINE))
    _gather_evidence(app, release, clients)
    _assess(app, release, clients, status={3: "partially_met"})
    for round_ in (2, 3):
        _panel_decides(app, release, clients, members, ("no_go", "no_go", "no_go", "go"))
        assert stage_of(app, release) == Stage.DEFERRED
        _replan(app, release, clients, weeks=4)
        with app.app_context():
            assert db.session.get(Release, release.id).round == round_
        _gather_evidence(app, release, clients, numbers={3})
        _assess(app, release, clients, numbers={3}, status={3: "met" if round_ == 3 else "partially_met"})
    _panel_decides(app, release, clients, members, ("go", "go", "go", "go"))
    _go_live(app, release, clients)
    with app.app_context():
        assert verify_chain().ok
