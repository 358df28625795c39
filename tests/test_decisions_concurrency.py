"""Exactly-once under concurrent requests: ballots, closes and decisions fired at once through HTTP."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, PortalClient
from decisions_support import assess_all, cast, client_for, count, open_vote, recommend

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.decisions.models import Ballot, Decision, Vote, VoteState
from portal.extensions import db
from portal.releases.models import Stage


@pytest.fixture
def app_config(app_config):
    """Enough pooled connections for every thread of a race (the portal's real pool is sized per worker)."""
    return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 20, "max_overflow": 60,
                                                        "pool_timeout": 120}}


def _race(calls) -> list[int]:
    """Run every call at the same moment in its own thread; return the status codes."""
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def run(call):
        try:
            barrier.wait()
            statuses.append(call().status_code)
        except BaseException as err:  # a crash in a thread must fail the test, not vanish
            errors.append(err)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(statuses) == len(calls)
    return statuses


def _ready(app, client: PortalClient):
    """A signed-in client with its CSRF token fetched up front, so the race is only the POSTs."""
    client.token = client.csrf_token()
    return client


def _ballot(client, code: str, member, choice: str):
    return client.post_form(f"/releases/{code}/vote/ballot", {"csrf_token": client.token, "member_id": str(member.id),
                                                              "choice": choice, "password": PASSWORD}, token=False)


def _close(client, code: str):
    return client.post_form(f"/releases/{code}/vote/close", {"csrf_token": client.token, "confirmed": "yes"},
                            token=False)


def _open_vote_with_members(app, users, make_release, make_user, members: int):
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    recommend(client_for(app, users["opsg_chair"]), release.code)
    panel = [users["panel_chair"], users["panel"]] + [make_user(Role.PANEL) for _ in range(members - 2)]
    assert open_vote(client_for(app, users["panel_chair"]), release.code).status_code == 303
    return release, panel


def test_fifty_concurrent_ballots_from_ten_members_and_five_concurrent_closes(app, users, make_release, make_user):
    release, panel = _open_vote_with_members(app, users, make_release, make_user, 10)
    calls = []
    for member in panel:
        for choice in ("go", "no_go", "abstain", "go", "go"):
            client = _ready(app, client_for(app, member))
            calls.append(lambda c=client, m=member, ch=choice: _ballot(c, release.code, m, ch))
    statuses = _race(calls)
    assert all(s < 500 for s in statuses), statuses
    assert count(app, Ballot, Ballot.is_current) == 10
    assert count(app, Ballot) == statuses.count(303)

    closers = [_ready(app, client_for(app, users["panel_chair"])) for _ in range(5)]
    statuses = _race([lambda c=c: _close(c, release.code) for c in closers])
    assert sorted(statuses) == [303, 409, 409, 409, 409], statuses
    assert count(app, Vote, Vote.state == VoteState.CLOSED) == 1

    statuses = _race([lambda c=c: c.post_form(f"/releases/{release.code}/vote/decision",
                                              {"csrf_token": c.token, "reasons": "Agreed.",
                                               "password": PASSWORD}, token=False) for c in closers])
    assert sorted(statuses) == [303, 409, 409, 409, 409], statuses
    assert count(app, Decision) == 1


def test_ballots_racing_the_close_are_all_before_it_or_refused(app, users, make_release, make_user):
    release, panel = _open_vote_with_members(app, users, make_release, make_user, 20)
    for member in panel[:11]:  # quorum already reached, so the close can win at any moment
        cast(client_for(app, member), release.code, member, "go")
    voters = [(_ready(app, client_for(app, m)), m) for m in panel]
    closer = _ready(app, client_for(app, users["panel_chair"]))
    calls = [lambda c=c, m=m: _ballot(c, release.code, m, "no_go") for c, m in voters]
    calls.append(lambda: _close(closer, release.code))
    statuses = _race(calls)
    assert all(s in (303, 409) for s in statuses), statuses
    with app.app_context():
        closed_event = db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "vote.closed"))
        late = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action.like("vote.ballot%"), AuditEvent.id > closed_event))
        assert late == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(Ballot.is_current)) <= 20


def test_twenty_members_casting_ten_simultaneous_ballots_each_leave_twenty_current_ballots(app, users, make_release,
                                                                                            make_user):
    release, panel = _open_vote_with_members(app, users, make_release, make_user, 20)
    calls = []
    for member in panel:
        for n in range(10):
            client = _ready(app, client_for(app, member))
            choice = ("go", "no_go", "abstain")[n % 3]
            calls.append(lambda c=client, m=member, ch=choice: _ballot(c, release.code, m, ch))
    statuses = _race(calls)
    assert all(s < 500 for s in statuses), statuses
    assert set(statuses) <= {303, 409}, statuses
    assert count(app, Ballot, Ballot.is_current) == 20
    with app.app_context():
        members_with_a_ballot = db.session.scalar(sa.select(sa.func.count(sa.distinct(Ballot.member_id))))
    assert members_with_a_ballot == 20
    assert count(app, Ballot) == statuses.count(303)
