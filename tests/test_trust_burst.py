"""Signing under a burst: the slow password check holds no lock, a committed write is never answered with a failure,
and a close racing ballots is never stamped before a counted ballot (bench/burst.py is the full-size run)."""
from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from decisions_support import cast, client_for, count
from flask import g, has_request_context
from test_decisions_concurrency import _ballot, _close, _open_vote_with_members, _race, _ready

from portal import signatures
from portal.decisions import services as decision_services
from portal.decisions.models import Ballot, Vote
from portal.extensions import db
from portal.timeutil import as_utc


@pytest.fixture
def app_config(app_config):
    """Enough pooled connections for every thread of the burst (as in tests/test_decisions_concurrency.py)."""
    return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 20, "max_overflow": 60,
                                                        "pool_timeout": 120}}


@pytest.fixture
def slow_password_check(monkeypatch):
    """The password check as slow as the real argon2 (tests use the cheapest profile), noting whether a
    transaction was open while it ran."""
    in_transaction: list[bool] = []
    real = signatures.check_password_hash

    def check(password_hash, password):
        in_transaction.append(db.session().in_transaction())
        time.sleep(0.05)
        return real(password_hash, password)

    monkeypatch.setattr(signatures, "check_password_hash", check)
    return in_transaction


def test_ten_members_three_simultaneous_signed_ballots_each(app, users, make_release, make_user,
                                                            slow_password_check):
    release, panel = _open_vote_with_members(app, users, make_release, make_user, 10)
    calls = []
    for member in panel:
        for choice in ("go", "no_go", "abstain"):
            client = _ready(app, client_for(app, member))
            calls.append(lambda c=client, m=member, ch=choice: _ballot(c, release.code, m, ch))
    slow_password_check.clear()
    statuses = _race(calls)
    assert all(s < 500 for s in statuses), statuses
    assert set(statuses) <= {303, 409}, statuses
    # The slow check ran with no transaction open: no writer ever waited behind another's argon2.
    assert len(slow_password_check) == 30 and not any(slow_password_check), slow_password_check
    assert count(app, Ballot, Ballot.is_current) == 10  # one current ballot per member
    assert count(app, Ballot) == statuses.count(303)  # every "done" stored, every refusal not


def test_a_committed_ballot_is_never_answered_with_a_failure(app, users, make_release, make_user):
    """After the commit nothing may query the database again (it may be locked by the next writer by then):
    here any query after a commit fails, and the ballot must still be answered as done."""
    release, panel = _open_vote_with_members(app, users, make_release, make_user, 3)
    client = client_for(app, panel[1])

    def flushed(session, _context, _instances):
        if has_request_context() and any(isinstance(row, Ballot) for row in session.new):
            g.test_ballot_flushed = True

    def committed(_connection):
        if has_request_context() and g.get("test_ballot_flushed"):
            g.test_committed = True

    def no_query_after_commit(*_args):
        if has_request_context() and g.get("test_committed"):
            raise sa.exc.OperationalError("after the commit", None, Exception("database is locked"))

    with app.app_context():
        engine = db.engine
    sa.event.listen(so.Session, "before_flush", flushed)
    sa.event.listen(engine, "commit", committed)  # the database's commit (not a savepoint's)
    sa.event.listen(engine, "before_cursor_execute", no_query_after_commit)
    try:
        response = cast(client, release.code, panel[1], "go")
    finally:
        sa.event.remove(engine, "before_cursor_execute", no_query_after_commit)
        sa.event.remove(engine, "commit", committed)
        sa.event.remove(so.Session, "before_flush", flushed)
    assert response.status_code == 303, response.status_code
    assert response.headers["Cache-Control"] == "no-store"
    assert count(app, Ballot, Ballot.is_current) == 1


def test_a_close_racing_ballots_is_not_stamped_before_a_counted_ballot(app, users, make_release, make_user,
                                                                      monkeypatch):
    release, panel = _open_vote_with_members(app, users, make_release, make_user, 12)
    for member in panel[:7]:  # quorum, so the close can win at any moment
        cast(client_for(app, member), release.code, member, "go")
    # The closing server's clock a minute behind the one that stamped the ballots.
    real_utcnow = decision_services.utcnow
    monkeypatch.setattr(decision_services, "utcnow", lambda: real_utcnow() - dt.timedelta(minutes=1))
    voters = [(_ready(app, client_for(app, m)), m) for m in panel]
    closer = _ready(app, client_for(app, users["panel_chair"]))
    calls = [lambda c=c, m=m: _ballot(c, release.code, m, "no_go") for c, m in voters]
    calls.append(lambda: _close(closer, release.code))
    statuses = _race(calls)
    assert all(s in (303, 409) for s in statuses), statuses
    with app.app_context():
        vote = db.session.scalar(sa.select(Vote).where(Vote.release_id == release.id))
        latest = db.session.scalar(sa.select(sa.func.max(Ballot.cast_at)).where(Ballot.vote_id == vote.id))
        assert as_utc(vote.closed_at) >= as_utc(latest)
