"""Messages that reach the person who must act: what to do, the deadline in Working Days, and an absolute link
straight to the page where they do it."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from decisions_support import assess_all, cast, client_for, decided, open_vote, recommend

from portal.access import Role
from portal.decisions.models import Vote
from portal.extensions import db
from portal.notifications.models import Notification, OutboxMessage, VoteReminder
from portal.notifications.reminders import send_reminders, send_vote_reminders
from portal.releases.models import Release, Stage
from portal.timeutil import utcnow
from tests.test_evidence_upload import PDF

LINK_RE = re.compile(r"(https?://\S+)")


def _mail(app, user, subject_part: str = "") -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to == user.email)
                                  .order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
    return [m for m in rows if subject_part in m.subject]


def _notes(app, user) -> list[Notification]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                                  .order_by(Notification.id)).all()
        db.session.expunge_all()
    return rows


def _ask(client, code: str, due: dt.date, number: int = 1):
    return client.post_form(f"/releases/{code}/criteria/{number}/requests",
                            {"question": "Please add the TOC runbook.",
                             "due_on": [str(due.day), str(due.month), str(due.year)]})


@pytest.fixture
def review(app, make_release):
    app.config["PORTAL_TODAY"] = "2021-01-11"  # a Monday
    return make_release(Stage.OPSG_REVIEW)


def test_the_evidence_request_email_gives_its_answer_by_date_and_an_absolute_link(app, users, review):
    assert _ask(client_for(app, users["opsg"]), review.code, dt.date(2021, 1, 14)).status_code == 303
    [message] = _mail(app, users["dcc"], "OpsG asks for more evidence on criterion 1")
    assert "Please add the TOC runbook." in message.body
    assert "Answer by 14 Jan 2021, in 3 Working Days." in message.body
    assert "Answer the request: http://localhost/releases/feb-2021/criteria/1" in message.body
    assert _mail(app, users["secas"], "OpsG asks") == []  # criterion 1 is the DCC's


def test_opsg_is_told_in_the_portal_and_by_email_when_the_dcc_answers(app, users, review):
    _ask(client_for(app, users["opsg"]), review.code, dt.date(2021, 1, 14))
    dcc = client_for(app, users["dcc"])
    page = dcc.get(f"/releases/{review.code}/criteria/1").get_data(as_text=True)
    request_id = re.search(r"/requests/(\d+)/answer", page).group(1)
    response = dcc.post_form(f"/releases/{review.code}/criteria/1/requests/{request_id}/answer",
                             {"comment": "The runbook is attached.", "file": (io.BytesIO(PDF), "runbook.pdf"),
                              "description": "TOC runbook"})
    assert response.status_code == 303
    for member in (users["opsg"], users["opsg_chair"]):
        [message] = _mail(app, member, "answered your evidence request")
        assert message.subject == "February 2021 SEC Release: DCC answered your evidence request on criterion 1"
        assert "Comment: The runbook is attached." in message.body and "File: runbook.pdf" in message.body
        assert "OpsG reviews the criteria by 2 Feb 2021, in 16 Working Days." in message.body
        assert "Read the answer: http://localhost/releases/feb-2021/criteria/1" in message.body
        [note] = [n for n in _notes(app, member) if "answered your evidence request" in n.subject]
        assert note.url == "/releases/feb-2021/criteria/1"
    notifications = client_for(app, users["opsg"]).get("/notifications").get_data(as_text=True)
    assert "DCC answered your evidence request on criterion 1" in notifications
    assert _mail(app, users["panel"], "answered") == []


def _vote_open(app, users, release, closes_at: str = ""):
    assess_all(app, release, users["opsg"])
    assert recommend(client_for(app, users["opsg_chair"]), release.code).status_code == 303
    assert open_vote(client_for(app, users["panel_chair"]), release.code, closes_at).status_code == 303


def test_each_eligible_member_is_told_the_vote_is_open_with_a_link_to_the_ballot(app, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    _vote_open(app, users, release)
    for member in (users["panel"], users["panel_chair"]):
        [message] = _mail(app, member, "the Panel go/no-go vote is open")
        link = LINK_RE.search(message.body.split("Cast your vote: ", 1)[1]).group(1)
        assert link == "http://localhost/releases/feb-2021/vote#ballot-panel"
        page = client_for(app, member).get(link.removeprefix("http://localhost").split("#")[0])
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "Your vote" in html and "Sign and cast the vote" in html
    for other in ("dcc", "opsg", "secas"):
        assert _mail(app, users[other], "vote is open") == []


def test_members_who_have_not_voted_are_reminded_once_before_the_close(app, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    _vote_open(app, users, release)
    with app.app_context():
        db.session.execute(sa.update(Vote).values(closes_at=utcnow() + dt.timedelta(hours=30)))
        db.session.commit()
        assert send_vote_reminders(None) == []  # not yet within VOTE_REMINDER_HOURS (24)
        db.session.commit()
    assert cast(client_for(app, users["panel_chair"]), release.code, users["panel_chair"], "go").status_code == 303
    with app.app_context():
        db.session.execute(sa.update(Vote).values(closes_at=utcnow() + dt.timedelta(hours=5)))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["portal", "send-reminders"])
    assert result.exit_code == 0 and "vote closing" in result.output
    [message] = _mail(app, users["panel"], "closes soon")
    assert message.subject == "February 2021 SEC Release: the Panel vote closes soon and you have not voted"
    assert "Cast your vote: http://127.0.0.1:5000/releases/feb-2021/vote#ballot-panel" in message.body
    assert _mail(app, users["panel_chair"], "closes soon") == []  # already voted
    again = app.test_cli_runner().invoke(args=["portal", "send-reminders"])
    assert again.exit_code == 0 and "vote closing" not in again.output
    assert len(_mail(app, users["panel"], "closes soon")) == 1
    with app.app_context():  # once per member per vote, by the database itself
        vote_id = db.session.scalar(sa.select(Vote.id))
        db.session.add(VoteReminder(vote_id=vote_id, member_id=users["panel"].id))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_a_replan_tells_every_role_of_the_new_go_live_and_its_moved_deadlines(app, users, make_release):
    release = decided(app, users, make_release(Stage.OPSG_REVIEW), [users["panel_chair"], users["panel"]],
                      ("no_go", "no_go"))
    new = dt.date(2021, 3, 25)
    response = client_for(app, users["secas"]).post_form(
        f"/releases/{release.code}/replan",
        {"new_go_live": ["25", "3", "2021"], "change_note": "Deferred by four weeks."})
    assert response.status_code == 303
    expected = {
        "dcc": "DCC submits evidence against the operational acceptance criteria: 23 Feb 2021 (was 26 Jan 2021)",
        "opsg": "Operations Group reviews status against the operational acceptance criteria: 2 Mar 2021 (was 2 Feb 2021)",
        "panel": "Panel go/no-go decision: 12 Mar 2021 (was 12 Feb 2021)",
        "secas": "Release go-live: 25 Mar 2021 (was 25 Feb 2021)",
    }
    for key, line in expected.items():
        [message] = _mail(app, users[key], "re-planned for 25 March 2021")
        assert "Go-live moves from 25 February 2021 to 25 March 2021." in message.body
        assert "Your new deadlines:" in message.body and line in message.body, message.body
        assert "Working Day" in message.body.split(line, 1)[1].split("\n", 1)[0]
        assert "See the new timeline: http://localhost/releases/feb-2021" in message.body
        assert "Deferred by four weeks." in message.body
    # Each role reads only its own deadlines.
    assert "Release go-live" not in _mail(app, users["dcc"], "re-planned")[0].body
    with app.app_context():
        assert db.session.get(Release, release.id).planned_go_live == new


def test_a_no_go_sends_secas_to_the_replan_page_and_opsg_to_the_reassessment_page(app, users, make_release):
    decided(app, users, make_release(Stage.OPSG_REVIEW), [users["panel_chair"], users["panel"]], ("no_go", "no_go"))
    [secas] = _mail(app, users["secas"], "to be re-planned")
    assert "Re-plan the release: http://localhost/releases/feb-2021/replan" in secas.body
    [opsg] = _mail(app, users["opsg"], "to be re-planned")
    assert "Choose criteria to reopen: http://localhost/releases/feb-2021/reassessment" in opsg.body
    assert _mail(app, users["dcc"], "to be re-planned") == []


def test_a_go_tells_secas_and_the_dcc_to_confirm_on_the_go_live_page_by_the_go_live_date(app, users, make_release):
    app.config["PORTAL_TODAY"] = "2021-02-15"
    decided(app, users, make_release(Stage.OPSG_REVIEW), [users["panel_chair"], users["panel"]], ("go", "go"))
    for key in ("secas", "dcc"):
        [message] = _mail(app, users[key], "go-live confirmations due")
        assert "Confirm by 25 Feb 2021, in 8 Working Days." in message.body
        assert "http://localhost/releases/feb-2021/go-live" in message.body


def test_a_milestone_reminder_links_absolutely_to_the_step_s_page(app, users, make_release):
    make_release(Stage.EVIDENCE)
    app.config["PORTAL_TODAY"] = "2021-01-21"
    with app.app_context():
        assert send_reminders(None)
        db.session.commit()
    [message] = _mail(app, users["dcc"], "DCC submits evidence")
    assert "due in 3 Working Days" in message.body
    assert "Open it in the portal: http://127.0.0.1:5000/releases/feb-2021/criteria" in message.body


def test_an_appointed_alternate_is_told_with_a_link_to_the_ballot(app, users, make_release, make_user):
    release = make_release(Stage.OPSG_REVIEW)
    alternate = make_user(Role.PANEL, name="Alex Alternate")
    _vote_open(app, users, release)
    member = users["panel"]
    assert client_for(app, member).post_form(f"/releases/{release.code}/vote/alternate",
                                             {"alternate_id": str(alternate.id), "confirmed": "yes"}
                                             ).status_code == 303
    [message] = _mail(app, alternate, "as their alternate")
    assert message.subject == f"February 2021 SEC Release: you vote for {member.name} as their alternate"
    assert "Cast the vote: http://localhost/releases/feb-2021/vote#ballot-panel" in message.body
