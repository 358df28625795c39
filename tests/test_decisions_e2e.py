"""The February 2021 demo release through every role over HTTP: baseline to Live, and No-go, deferral, then Go."""
from __future__ import annotations

import datetime as dt

import pytest
from conftest import PASSWORD
from decisions_support import cast, client_for, close, confirm, decide, open_vote, recommend, stage_of
from releases_html import page_text

from portal.access import Role
from portal.audit.services import verify_chain
from portal.extensions import db
from portal.releases.models import Release, Stage


@pytest.fixture
def people(app, users, make_user):
    clients = {k: client_for(app, u) for k, u in users.items()}
    members = [users["panel_chair"], users["panel"], make_user(Role.PANEL), make_user(Role.PANEL)]
    return clients, members


def _criteria(app, release) -> list[tuple[int, Role]]:
    with app.app_context():
        return [(c.number, c.owner_role) for c in db.session.get(Release, release.id).criteria]


def _ok(response) -> None:
    assert response.status_code in (200, 302, 303), page_text(response.get_data(as_text=True))[:300]


def _gather_evidence(app, release, clients, numbers=None) -> None:
    """Each owner writes a statement on its criteria (or just `numbers`), then DCC and SECAS submit."""
    for number, owner in _criteria(app, release):
        if numbers is None or number in numbers:
            _ok(clients[owner.value].post_form(f"/releases/{release.code}/criteria/{number}/statement",
                                               {"text": f"Evidence for criterion {number}."}))
    for role in ("dcc", "secas"):
        _ok(clients[role].post_form(f"/releases/{release.code}/evidence/submit"))
    assert stage_of(app, release) == Stage.OPSG_REVIEW


def _assess(app, release, clients, numbers=None) -> None:
    for number, _owner in _criteria(app, release):
        if numbers is None or number in numbers:
            _ok(clients["opsg"].post_form(f"/releases/{release.code}/criteria/{number}/assessments",
                                          {"status": "met", "rationale": "Evidence is sufficient.",
                                           "kind": "final", "password": PASSWORD}))


def _panel_decides(app, release, clients, members, choices) -> None:
    _ok(recommend(clients["opsg_chair"], release.code, "with_conditions", "DCC confirms its rollback plan"))
    _ok(open_vote(clients["panel_chair"], release.code))
    assert stage_of(app, release) == Stage.PANEL_VOTE
    for member, choice in zip(members, choices):
        _ok(cast(client_for(app, member), release.code, member, choice))
    _ok(close(clients["panel_chair"], release.code))
    _ok(decide(clients["panel_chair"], release.code, "Decided by the Panel."))


def _go_live(app, release, clients) -> None:
    _ok(confirm(clients["secas"], release.code, "readiness"))
    _ok(confirm(clients["secas"], release.code, "sec_implemented", "SEC v40.0"))
    _ok(confirm(clients["dcc"], release.code, "deployment"))
    assert stage_of(app, release) == Stage.LIVE


def test_from_baseline_to_live(app, make_release, people):
    clients, members = people
    release = make_release()
    _ok(clients["panel_chair"].post_form(f"/releases/{release.code}/transitions/baseline"))
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


def test_no_go_deferral_and_back_to_go(app, make_release, people):
    clients, members = people
    release = make_release()
    _ok(clients["panel_chair"].post_form(f"/releases/{release.code}/transitions/baseline"))
    _gather_evidence(app, release, clients)
    _assess(app, release, clients)
    _panel_decides(app, release, clients, members, ("no_go", "no_go", "go", "abstain"))
    assert stage_of(app, release) == Stage.DEFERRED

    with app.app_context():
        first = db.session.get(Release, release.id)
        criterion_1 = first.criteria[0].id
        new_date = first.planned_go_live + dt.timedelta(days=35)
    _ok(clients["opsg"].post_form(f"/releases/{release.code}/reassessment", {"criteria": [str(criterion_1)]}))
    _ok(clients["secas"].post_form(f"/releases/{release.code}/replan", {
        "new_go_live": [str(new_date.day), str(new_date.month), str(new_date.year)],
        "change_note": "Deferred after the Panel's No-go."}))
    assert stage_of(app, release) == Stage.EVIDENCE

    _gather_evidence(app, release, clients, numbers={1})
    # Only the marked criterion is assessed again; the others keep their final assessments.
    assert recommend(clients["opsg_chair"], release.code).status_code == 409
    _assess(app, release, clients, numbers={1})
    _panel_decides(app, release, clients, members, ("go", "go", "go", "no_go"))
    assert stage_of(app, release) == Stage.APPROVED
    _go_live(app, release, clients)
    with app.app_context():
        assert db.session.get(Release, release.id).planned_go_live == new_date
        assert verify_chain().ok
