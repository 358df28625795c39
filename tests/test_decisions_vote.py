"""The OpsG recommendation and the Panel vote, through HTTP as each role."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from decisions_support import (assess_all, cast, client_for, close, count, decide, open_vote, recommend,
                               stage_of)
from releases_html import page_text

from portal.access import Role
from portal.decisions.models import Ballot, Recommendation, Vote, VoteState
from portal.decisions.services import count_vote
from portal.extensions import db
from portal.releases.models import Stage
from portal.timeutil import as_utc, utcnow


@pytest.fixture
def review(app, users, make_release):
    """A release in OpsG review with every criterion finally assessed."""
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    return release


@pytest.fixture
def panel(make_user, users):
    """The Panel chair and four more members (six Panel users with users['panel'])."""
    return [users["panel_chair"], users["panel"]] + [make_user(Role.PANEL) for _ in range(4)]


@pytest.fixture
def opened(app, users, review, panel):
    """The recommendation recorded and the vote opened by the chair."""
    assert recommend(client_for(app, users["opsg_chair"]), review.code).status_code == 303
    assert open_vote(client_for(app, users["panel_chair"]), review.code).status_code == 303
    return review


def test_recommendation_refused_until_every_criterion_is_finally_assessed(app, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    response = recommend(client_for(app, users["opsg_chair"]), release.code)
    assert response.status_code == 409
    assert "final OpsG assessment" in page_text(response.get_data(as_text=True))
    assert count(app, Recommendation) == 0


def test_recommendation_is_signed_revisable_and_shown_to_every_role(app, users, review):
    chair = client_for(app, users["opsg_chair"])
    assert recommend(chair, review.code).status_code == 303
    assert recommend(chair, review.code, "with_conditions", "DCC to confirm the rollback plan\nSECAS briefing"
                     ).status_code == 303
    assert count(app, Recommendation) == 2
    assert count(app, Recommendation, Recommendation.is_current) == 1
    for role in ("dcc", "secas", "panel"):
        text = page_text(client_for(app, users[role]).get(f"/releases/{review.code}/decision").get_data(as_text=True))
        assert "Implement subject to conditions" in text and "DCC to confirm the rollback plan" in text
        assert "Signed by" in text


@pytest.mark.parametrize("who,status", [("opsg", 403), ("dcc", 403), ("panel_chair", 403)])
def test_only_the_opsg_chair_records_the_recommendation(app, users, review, who, status):
    assert recommend(client_for(app, users[who]), review.code).status_code == status
    assert count(app, Recommendation) == 0


def test_recommendation_with_wrong_password_or_missing_conditions_is_422(app, users, review):
    chair = client_for(app, users["opsg_chair"])
    response = recommend(chair, review.code, password="wrong")
    assert response.status_code == 422 and "password you entered is not correct" in response.get_data(as_text=True)
    assert recommend(chair, review.code, "with_conditions", "").status_code == 422
    assert recommend(chair, review.code, "nonsense").status_code == 422
    assert count(app, Recommendation) == 0


def test_the_vote_cannot_open_before_the_recommendation(app, users, review, panel):
    response = open_vote(client_for(app, users["panel_chair"]), review.code)
    assert response.status_code == 409
    assert "not recorded its recommendation" in page_text(response.get_data(as_text=True))
    assert count(app, Vote) == 0


def test_only_the_panel_chair_opens_the_vote(app, users, review, panel):
    recommend(client_for(app, users["opsg_chair"]), review.code)
    assert open_vote(client_for(app, users["panel"]), review.code).status_code == 403
    assert open_vote(client_for(app, users["dcc"]), review.code).status_code == 403
    assert open_vote(client_for(app, users["panel_chair"]), review.code, "31/02/2021 17:00").status_code == 422
    assert count(app, Vote) == 0


def test_recommendation_cannot_be_revised_once_the_vote_opens(app, users, opened):
    response = recommend(client_for(app, users["opsg_chair"]), opened.code)
    assert response.status_code == 409 and "possible only during OpsG review" in response.get_data(as_text=True)


def test_members_vote_and_change_their_vote_keeping_both_ballots(app, users, opened, panel):
    member = client_for(app, panel[1])
    assert cast(member, opened.code, panel[1], "go").status_code == 303
    assert cast(member, opened.code, panel[1], "no_go", comment="Changed my mind").status_code == 303
    assert count(app, Ballot) == 2
    assert count(app, Ballot, Ballot.is_current) == 1
    # Everyone sees who has voted, not how.
    text = page_text(client_for(app, users["dcc"]).get(f"/releases/{opened.code}/vote").get_data(as_text=True))
    assert "1 of 6 eligible members have voted; 5 still to vote" in text
    assert "Changed my mind" not in text and "No-go" not in text.split("Who has voted")[1]


def test_ballot_by_htmx_returns_the_panel_and_announces_the_change(app, opened, panel):
    response = cast(client_for(app, panel[2]), opened.code, panel[2], "abstain", htmx=True)
    assert response.status_code == 200
    assert "vote-changed" in response.headers["HX-Trigger"].split(", ")
    assert 'id="ballot-panel"' in response.get_data(as_text=True)
    tally = client_for(app, panel[0]).get(f"/releases/{opened.code}/vote/tally").get_data(as_text=True)
    assert 'id="vote-tally"' in tally and "every 5s" in tally and "1</strong> of 6" in tally


def test_bad_ballots_are_refused_and_nothing_is_stored(app, users, opened, panel):
    member = client_for(app, panel[1])
    assert cast(member, opened.code, panel[1], "go", password="wrong").status_code == 422
    assert cast(member, opened.code, panel[1], "maybe").status_code == 422
    assert cast(member, opened.code, panel[2], "go").status_code == 403  # someone else's seat
    assert cast(client_for(app, users["dcc"]), opened.code, users["dcc"], "go").status_code == 403
    assert count(app, Ballot) == 0


def test_a_ballot_after_the_close_or_the_closing_time_is_refused(app, users, opened, panel):
    for member in panel[:4]:
        cast(client_for(app, member), opened.code, member, "go")
    assert close(client_for(app, users["panel_chair"]), opened.code).status_code == 303
    late = cast(client_for(app, panel[4]), opened.code, panel[4], "no_go")
    assert late.status_code == 409 and "The vote is closed" in late.get_data(as_text=True)
    assert count(app, Ballot) == 4


def test_a_ballot_after_the_closing_time_is_refused(app, users, opened, panel):
    with app.app_context():
        db.session.execute(sa.update(Vote).values(closes_at=utcnow() - dt.timedelta(minutes=1)))
        db.session.commit()
    response = cast(client_for(app, panel[1]), opened.code, panel[1], "go")
    assert response.status_code == 409 and "voting time has ended" in response.get_data(as_text=True)
    assert count(app, Ballot) == 0


def test_an_alternate_votes_instead_of_the_member(app, users, opened, panel):
    member, alternate = client_for(app, panel[1]), client_for(app, panel[2])
    assert member.post_form(f"/releases/{opened.code}/vote/alternate",
                            {"alternate_id": str(panel[2].id), "confirmed": "yes"}).status_code == 303
    refused = cast(member, opened.code, panel[1], "go")
    assert refused.status_code == 409 and "alternate" in refused.get_data(as_text=True)
    assert cast(alternate, opened.code, panel[1], "no_go").status_code == 303  # for the member
    assert cast(alternate, opened.code, panel[2], "go").status_code == 303  # and their own
    with app.app_context():
        ballot = db.session.scalar(sa.select(Ballot).where(Ballot.member_id == panel[1].id))
        assert ballot.cast_by_id == panel[2].id and ballot.by_alternate
    for m in panel[3:5]:
        cast(client_for(app, m), opened.code, m, "go")
    close(client_for(app, users["panel_chair"]), opened.code)
    text = page_text(member.get(f"/releases/{opened.code}/vote").get_data(as_text=True))
    assert f"cast by alternate {panel[2].name}" in text


def test_a_member_who_voted_cannot_appoint_an_alternate(app, opened, panel):
    member = client_for(app, panel[1])
    cast(member, opened.code, panel[1], "go")
    response = member.post_form(f"/releases/{opened.code}/vote/alternate", {"alternate_id": str(panel[2].id)})
    assert response.status_code == 409


def test_a_conflicted_member_cannot_vote_and_does_not_count_for_quorum(app, users, opened, panel):
    member = client_for(app, panel[1])
    assert member.post_form(f"/releases/{opened.code}/vote/conflict", {"note": ""}).status_code == 422
    assert member.post_form(f"/releases/{opened.code}/vote/conflict",
                            {"note": "I advise a supplier affected by MP122", "confirmed": "yes"}).status_code == 303
    refused = cast(member, opened.code, panel[1], "go")
    assert refused.status_code == 409 and "conflict of interest" in refused.get_data(as_text=True)
    assert count(app, Ballot) == 0
    with app.app_context():
        tally = count_vote(db.session.scalar(sa.select(Vote)))
        assert len(tally.eligible) == 5 and tally.quorum_needed == 3
    text = page_text(member.get(f"/releases/{opened.code}/vote").get_data(as_text=True))
    assert "Conflict declared" in text and "not counted as eligible for quorum" in text


def test_closing_without_quorum_is_refused_and_the_vote_stays_open(app, users, opened, panel):
    for member in panel[:3]:
        cast(client_for(app, member), opened.code, member, "go")
    response = close(client_for(app, users["panel_chair"]), opened.code)
    assert response.status_code == 409 and "No quorum" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Vote)).state == VoteState.OPEN
    assert close(client_for(app, users["panel"]), opened.code).status_code == 403


@pytest.mark.parametrize("choices,outcome", [
    (["go", "go", "no_go", "abstain"], "go"),
    (["no_go", "go", "no_go", "go"], "no_go"),  # a tie, the chair voted No-go
    (["go", "no_go", "abstain", "abstain"], "go"),  # a tie: the chair's casting vote
    (["abstain", "go", "no_go", "abstain"], "no_go"),  # a tie, the chair abstained
])
def test_the_outcome_follows_the_rules(app, users, opened, panel, choices, outcome):
    for member, choice in zip(panel, choices):
        assert cast(client_for(app, member), opened.code, member, choice).status_code == 303
    chair = client_for(app, users["panel_chair"])
    assert close(chair, opened.code).status_code == 303
    assert close(chair, opened.code).status_code == 409
    with app.app_context():
        assert db.session.scalar(sa.select(Vote)).outcome == outcome


def test_the_chair_records_the_decision_and_the_ballots_are_revealed(app, users, opened, panel):
    for member, choice in zip(panel, ["go", "go", "go", "no_go"]):
        cast(client_for(app, member), opened.code, member, choice, comment=f"Comment of {member.name}")
    chair = client_for(app, users["panel_chair"])
    assert decide(chair, opened.code).status_code == 409  # not closed yet
    close(chair, opened.code)
    assert decide(chair, opened.code, reasons="").status_code == 422
    assert decide(chair, opened.code, password="wrong").status_code == 422
    assert stage_of(app, opened) == Stage.PANEL_VOTE
    assert decide(chair, opened.code).status_code == 303
    assert decide(chair, opened.code).status_code == 409
    assert stage_of(app, opened) == Stage.APPROVED
    text = page_text(client_for(app, users["dcc"]).get(f"/releases/{opened.code}/vote").get_data(as_text=True))
    assert f"Comment of {panel[3].name}" in text and "voted No-go" in text
    assert "Panel decision: Go" in page_text(
        client_for(app, users["dcc"]).get(f"/releases/{opened.code}/decision").get_data(as_text=True))


def test_my_tasks_show_the_open_vote_until_voted(app, opened, panel):
    from portal.auth.models import User
    from portal.tasks import tasks_for

    def titles():
        with app.test_request_context():
            return [t.title for t in tasks_for(db.session.get(User, panel[1].id))]

    assert "Vote go/no-go" in titles()
    cast(client_for(app, panel[1]), opened.code, panel[1], "go")
    assert "Vote go/no-go" not in titles()


def test_every_vote_change_writes_one_audit_event(app, opened, panel):
    from portal.audit.models import AuditEvent
    member = client_for(app, panel[1])
    before = count(app, AuditEvent)
    cast(member, opened.code, panel[1], "go")
    assert count(app, AuditEvent) == before + 1


def test_the_closing_time_is_judged_by_the_portal_today(app, users, review, panel):
    """With "today" frozen at Monday 15 February 2021, 17 February is in the future and 12 February is past."""
    app.config["PORTAL_TODAY"] = "2021-02-15"
    assert recommend(client_for(app, users["opsg_chair"]), review.code).status_code == 303
    chair = client_for(app, users["panel_chair"])
    response = open_vote(chair, review.code, "12/02/2021 17:00")
    assert response.status_code == 422 and "must be in the future" in response.get_data(as_text=True)
    assert open_vote(chair, review.code, "17/02/2021 17:00").status_code == 303
    with app.app_context():
        closes_at = db.session.scalar(sa.select(Vote.closes_at))
    assert as_utc(closes_at) == dt.datetime(2021, 2, 17, 17, tzinfo=dt.timezone.utc)
