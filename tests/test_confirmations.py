"""Confirmations before what cannot be undone (baselining, submitting evidence, closing the vote, declaring a
conflict, appointing and revoking an alternate), and the alternates' rules: an alternate may be a Panel user who is
not a voting member, votes only while appointed and only instead of that member, and is never counted as eligible
in their own right."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from decisions_support import assess_all, cast, client_for, close, count, open_vote, recommend
from releases_html import page_text

from portal.access import Role
from portal.criteria.evidence_models import EvidenceSubmission
from portal.decisions.models import Ballot, Vote, VoteMember
from portal.decisions.services import count_vote
from portal.extensions import db
from portal.releases.models import Release, RidVersion, Stage

MEETING = {"meeting_on": ["14", "10", "2020"], "minute_ref": "84/03"}


def text_of(response) -> str:
    return page_text(response.get_data(as_text=True))


def seats(app) -> list[tuple]:
    with app.app_context():
        return list(db.session.execute(sa.select(VoteMember.member_id, VoteMember.alternate_id,
                                                 VoteMember.conflict_note).order_by(VoteMember.id)))


# --- Baselining ------------------------------------------------------------------------------------

def test_baselining_asks_for_the_panel_meeting_and_keeps_it_on_the_rid_version(app, users, make_release):
    release = make_release()
    chair = client_for(app, users["panel_chair"])
    page = chair.get(f"/releases/{release.code}/baseline")
    assert page.status_code == 200
    text = text_of(page)
    assert "Baselining cannot be undone" in text and "Date of the Panel meeting" in text and "Minute reference" in text
    response = chair.post_form(f"/releases/{release.code}/baseline", MEETING)
    assert response.status_code == 303
    with app.app_context():
        version = db.session.scalar(sa.select(RidVersion).where(RidVersion.is_baseline))
        assert (version.number, version.panel_meeting_on.isoformat(), version.panel_minute_ref) == (
            "1.0", "2020-10-14", "84/03")
    history = text_of(chair.get(f"/releases/{release.code}"))
    assert "Baselined by the SEC Panel. Panel meeting of 14 October 2020, minute 84/03." in history


@pytest.mark.parametrize("data, message", [
    ({"meeting_on": ["", "", ""], "minute_ref": "84/03"}, "Enter the date of the Panel meeting"),
    ({"meeting_on": ["31", "2", "2020"], "minute_ref": "84/03"}, "Enter a real date, like 14 8 2020"),
    ({"meeting_on": ["14", "10", "2020"], "minute_ref": "  "}, "Enter the minute reference"),
    ({"meeting_on": ["14", "10", "2099"], "minute_ref": "84/03"},
     "The date of the Panel meeting must be today or in the past"),
])
def test_baselining_without_the_meeting_is_refused_and_stores_nothing(app, users, make_release, data, message):
    release = make_release()
    response = client_for(app, users["panel_chair"]).post_form(f"/releases/{release.code}/baseline", data)
    assert response.status_code == 422
    text = text_of(response)
    assert "There is a problem" in text and message in text
    assert count(app, RidVersion) == 1
    with app.app_context():
        assert db.session.get(Release, release.id).stage == Stage.DRAFT


def test_only_the_panel_chair_is_offered_the_baseline_form(app, users, make_release):
    release = make_release()
    page = client_for(app, users["panel"]).get(f"/releases/{release.code}/baseline")
    assert page.status_code == 200 and "Only the SEC Panel chair can do this." in text_of(page)
    assert 'name="minute_ref"' not in page.get_data(as_text=True)
    assert client_for(app, users["secas"]).get(f"/releases/{release.code}/baseline").status_code == 403


# --- Submitting evidence ---------------------------------------------------------------------------

def test_check_your_evidence_lists_each_criterion_before_the_one_click(app, users, make_release):
    release = make_release(Stage.EVIDENCE)
    dcc = client_for(app, users["dcc"])
    page = text_of(dcc.get(f"/releases/{release.code}/evidence/check"))
    assert "Check your evidence before you submit" in page
    assert "Criterion 1 needs a file or a written statement." in page and "Criterion 9" not in page
    assert "Criteria 1, 2, 3, 4, 5, 6, 7, 8 need a file or a written statement" in page  # the refusal, no button
    for number in range(1, 9):
        assert dcc.post_form(f"/releases/{release.code}/criteria/{number}/statement",
                             {"text": f"Statement {number}."}).status_code in (200, 303)
    index = dcc.get(f"/releases/{release.code}/criteria").get_data(as_text=True)
    assert f'href="/releases/{release.code}/evidence/check"' in index
    html = dcc.get(f"/releases/{release.code}/evidence/check").get_data(as_text=True)
    text = page_text(html)
    assert all(f"Statement {n}." in text for n in range(1, 9)) and "needs a file" not in text
    assert f'action="/releases/{release.code}/evidence/submit"' in html and "Submit DCC evidence" in text
    assert count(app, EvidenceSubmission) == 0  # looking is not submitting
    assert dcc.post_form(f"/releases/{release.code}/evidence/submit").status_code == 303
    assert count(app, EvidenceSubmission) == 1


# --- The vote ----------------------------------------------------------------------------------------

@pytest.fixture
def panel(make_user, users):
    return [users["panel_chair"], users["panel"], make_user(Role.PANEL, name="Pat Third")]


@pytest.fixture
def opened(app, users, make_release, panel):
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    assert recommend(client_for(app, users["opsg_chair"]), release.code).status_code == 303
    assert open_vote(client_for(app, users["panel_chair"]), release.code).status_code == 303
    return release


def test_closing_the_vote_first_lists_who_has_not_voted(app, users, opened, panel):
    for member in panel[:2]:
        assert cast(client_for(app, member), opened.code, member).status_code == 303
    chair = client_for(app, users["panel_chair"])
    first = chair.post_form(f"/releases/{opened.code}/vote/close")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    listed = page_text(html.split('data-testid="confirm-list"')[1].split("</ul>")[0])
    assert listed.endswith("Pat Third") and panel[0].name not in listed and panel[1].name not in listed
    text = page_text(html)
    assert "Close the vote now?" in text and "2 of 3 eligible members" in text and "Closing cannot be undone" in text
    with app.app_context():
        assert db.session.scalar(sa.select(Vote.state)) == "open"
    assert close(chair, opened.code).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Vote.state)) == "closed"


def test_declaring_a_conflict_is_confirmed_first(app, opened, panel):
    member = client_for(app, panel[1])
    note = "I advise a supplier affected by MP122."
    first = member.post_form(f"/releases/{opened.code}/vote/conflict", {"note": note})
    assert first.status_code == 200
    text = text_of(first)
    assert "Declare a conflict of interest?" in text and note in text and "This cannot be undone" in text
    assert 'name="confirmed" value="yes"' in first.get_data(as_text=True)
    assert all(s[2] is None for s in seats(app))
    assert member.post_form(f"/releases/{opened.code}/vote/conflict",
                            {"note": note, "confirmed": "yes"}).status_code == 303
    assert [s[2] for s in seats(app) if s[0] == panel[1].id] == [note]


def test_appointing_and_revoking_an_alternate_are_confirmed_first(app, opened, panel):
    member, third = client_for(app, panel[1]), panel[2]
    url = f"/releases/{opened.code}/vote/alternate"
    first = member.post_form(url, {"alternate_id": str(third.id)})
    assert first.status_code == 200 and f"Appoint {third.name} as your alternate?" in text_of(first)
    assert all(s[1] is None for s in seats(app))
    assert member.post_form(url, {"alternate_id": str(third.id), "confirmed": "yes"}).status_code == 303
    assert [s[1] for s in seats(app) if s[0] == panel[1].id] == [third.id]
    revoke = f"/releases/{opened.code}/vote/alternate/revoke"
    first = member.post_form(revoke)
    assert first.status_code == 200 and f"Revoke {third.name} as your alternate?" in text_of(first)
    assert [s[1] for s in seats(app) if s[0] == panel[1].id] == [third.id]
    assert member.post_form(revoke, {"confirmed": "yes"}).status_code == 303
    assert [s[1] for s in seats(app) if s[0] == panel[1].id] == [None]


def test_a_refused_step_gets_its_refusal_not_a_confirmation(app, users, opened, panel):
    response = client_for(app, panel[1]).post_form(f"/releases/{opened.code}/vote/close")
    assert response.status_code == 403 and "Only the SEC Panel chair can do this." in text_of(response)
    assert client_for(app, users["opsg"]).post_form(f"/releases/{opened.code}/vote/conflict",
                                                    {"note": "x"}).status_code == 403


# --- Alternates ------------------------------------------------------------------------------------

def test_an_alternate_who_is_not_a_member_votes_only_for_that_member_and_only_while_appointed(
        app, make_user, opened, panel):
    outsider = make_user(Role.PANEL, name="Olive Outsider")  # joined after the vote opened: not a voting member
    member = client_for(app, panel[1])
    alternate = client_for(app, outsider)
    assert cast(alternate, opened.code, outsider).status_code == 403  # no seat of their own
    assert member.post_form(f"/releases/{opened.code}/vote/alternate",
                            {"alternate_id": str(outsider.id), "confirmed": "yes"}).status_code == 303
    with app.app_context():
        tally = count_vote(db.session.scalar(sa.select(Vote)))
        assert len(tally.eligible) == 3 and outsider.id not in {m.member_id for m in tally.eligible}
    assert cast(alternate, opened.code, outsider).status_code == 403  # still not in their own right
    assert cast(alternate, opened.code, panel[2]).status_code == 403  # nor for another member
    assert cast(member, opened.code, panel[1]).status_code == 409  # the member does not vote beside them
    vote_page = text_of(alternate.get(f"/releases/{opened.code}/vote"))
    assert panel[1].name in vote_page
    # Revoked before voting: they may no longer vote, and the member votes again.
    assert member.post_form(f"/releases/{opened.code}/vote/alternate/revoke", {"confirmed": "yes"}).status_code == 303
    assert cast(alternate, opened.code, panel[1]).status_code == 403
    assert member.post_form(f"/releases/{opened.code}/vote/alternate",
                            {"alternate_id": str(outsider.id), "confirmed": "yes"}).status_code == 303
    assert cast(alternate, opened.code, panel[1], "no_go").status_code == 303
    with app.app_context():
        ballot = db.session.scalar(sa.select(Ballot))
        assert (ballot.member_id, ballot.cast_by_id) == (panel[1].id, outsider.id)
    # Once their ballot is in, the member cannot take the seat back.
    assert member.post_form(f"/releases/{opened.code}/vote/alternate/revoke",
                            {"confirmed": "yes"}).status_code == 409


def test_an_alternate_must_be_an_active_panel_user(app, users, make_user, opened, panel):
    member = client_for(app, panel[1])
    for other in (users["opsg"], make_user(Role.PANEL, active=False)):
        response = member.post_form(f"/releases/{opened.code}/vote/alternate",
                                    {"alternate_id": str(other.id), "confirmed": "yes"})
        assert response.status_code == 422
    assert all(s[1] is None for s in seats(app))
