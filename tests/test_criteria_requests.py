"""Evidence requests (OpsG asks, owner answers, OpsG closes or asks again) and evidence submission."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from portal.criteria.models import EvidenceRequest, RequestState
from portal.criteria.evidence_models import EvidenceSubmission
from portal.extensions import db
from portal.releases.models import Release, Stage
from tests.conftest import PASSWORD
from tests.test_criteria_assessments import assess
from tests.test_evidence_upload import PDF, events, files, upload


def req_url(release, number=1, tail=""):
    return f"/releases/{release.code}/criteria/{number}/requests{tail}"


def requests_(app) -> list[EvidenceRequest]:
    with app.app_context():
        return db.session.scalars(sa.select(EvidenceRequest).order_by(EvidenceRequest.id)).all()


def ask(client, release, number=1, question="Please add the TOC runbook.", due=None, htmx=False):
    data = {"question": question}
    if due:
        data["due_on"] = [str(due.day), str(due.month), str(due.year)]
    return client.post_form(req_url(release, number), data, htmx=htmx)


@pytest.fixture
def release(app, make_release):
    app.config["PORTAL_TODAY"] = "2021-01-20"  # the demo release's review, so an answer-by date of 1 Feb is ahead
    return make_release(Stage.OPSG_REVIEW)


def test_request_answer_close_thread(app, client, users, release):
    client.login(users["opsg"])
    response = ask(client, release, due=dt.date(2021, 2, 1), htmx=True)
    assert response.status_code == 200 and "TOC runbook" in response.get_data(as_text=True)
    [req] = requests_(app)
    assert req.state == RequestState.OPEN and req.due_on == dt.date(2021, 2, 1)
    assert ask(client, release).status_code == 409  # one open request per criterion
    # While a request is open, no final assessment.
    response = assess(client, release, kind="final", password=PASSWORD)
    assert response.status_code == 409 and "waiting for the owner&#39;s answer" in response.get_data(as_text=True)
    client.logout()

    client.login(users["secas"])
    def answer():
        return {"comment": "Here", "file": (io.BytesIO(PDF), "runbook.pdf"), "description": "Runbook"}
    assert client.post_form(req_url(release, 1, f"/{req.id}/answer"), answer()).status_code == 403
    client.logout()
    client.login(users["dcc"])
    assert client.post_form(req_url(release, 1, f"/{req.id}/answer"), {"comment": ""}).status_code == 422
    response = client.post_form(req_url(release, 1, f"/{req.id}/answer"), answer(), htmx=True)
    assert response.status_code == 200 and "runbook.pdf" in response.get_data(as_text=True)
    assert requests_(app)[0].state == RequestState.ANSWERED
    assert files(app)[0].answers_request_id == req.id
    client.logout()

    client.login(users["opsg"])
    response = client.post_form(req_url(release, 1, f"/{req.id}/again"), {"question": "And the rota?"})
    assert response.status_code == 303
    first, second = requests_(app)
    assert first.state == RequestState.CLOSED and second.state == RequestState.OPEN
    assert client.post_form(req_url(release, 1, f"/{second.id}/close"), {}).status_code == 303
    assert requests_(app)[1].state == RequestState.CLOSED
    assert assess(client, release, kind="final", password=PASSWORD).status_code == 303
    assert events(app, "evidence_request.") == ["evidence_request.open", "evidence_request.answer",
                                                "evidence_request.ask_again", "evidence_request.close"]


@pytest.mark.parametrize("who", ["dcc", "secas", "panel"])
def test_only_opsg_asks_and_closes(app, client, users, release, who):
    client.login(users[who])
    assert ask(client, release).status_code == 403
    assert requests_(app) == []


def test_request_needs_a_question_and_valid_date(app, client, users, release):
    client.login(users["opsg"])
    assert ask(client, release, question="").status_code == 422
    response = client.post_form(req_url(release), {"question": "x", "due_on": ["31", "2", "2021"]})
    assert response.status_code == 422
    assert requests_(app) == []


def test_submission_moves_release_to_opsg_review(app, client, users, make_release):
    release = make_release(Stage.EVIDENCE)
    submit = f"/releases/{release.code}/evidence/submit"
    client.login(users["dcc"])
    response = client.post_form(submit, {})
    assert response.status_code == 409 and "Criteria 1, 2" in response.get_data(as_text=True)
    for n in range(1, 9):
        if n % 2:
            upload(client, release, n, content=PDF + str(n).encode())
        else:
            client.post_form(f"/releases/{release.code}/criteria/{n}/statement", {"text": "Not needed."})
    assert client.post_form(submit, {}).status_code == 303
    assert client.post_form(submit, {}).status_code == 409
    page = client.get(f"/releases/{release.code}/criteria").get_data(as_text=True)
    assert "Working Days late" in page or "on time" in page
    client.logout()
    client.login(users["opsg"])
    assert client.post_form(submit, {}).status_code == 403
    client.logout()
    client.login(users["secas"])
    for n in (9, 10):
        upload(client, release, n, content=PDF + str(n).encode())
    assert client.post_form(submit, {}).status_code == 303
    with app.app_context():
        assert db.session.get(Release, release.id).stage == Stage.OPSG_REVIEW
        subs = db.session.scalars(sa.select(EvidenceSubmission)).all()
        assert {s.role.value for s in subs} == {"dcc", "secas"}
    assert events(app, "evidence.submit") == ["evidence.submit", "evidence.submit"]
    assert events(app, "release.moved") == ["release.moved"]


def test_timeliness_in_working_days(app):
    from portal.criteria.evidence_services import timeliness
    sub = EvidenceSubmission(due_on=dt.date(2021, 1, 26),
                             submitted_at=dt.datetime(2021, 1, 26, 20, tzinfo=dt.timezone.utc))
    assert timeliness(sub) == "on time"
    sub.submitted_at = dt.datetime(2021, 1, 29, 10, tzinfo=dt.timezone.utc)
    assert timeliness(sub) == "3 Working Days late"
    sub.submitted_at = dt.datetime(2021, 1, 27, 10, tzinfo=dt.timezone.utc)
    assert timeliness(sub) == "1 Working Day late"


def test_evidence_submitted_on_the_portal_today_before_the_deadline_is_on_time(app, client, users, make_release):
    """One clock: the submission is stamped on the frozen day (Wednesday 20 January), so it is before the
    timeline's evidence date (Tuesday 26th), not years after it."""
    from portal.criteria.evidence_services import timeliness
    from portal.timeutil import UK, as_utc
    app.config["PORTAL_TODAY"] = "2021-01-20"
    release = make_release(Stage.EVIDENCE)
    client.login(users["dcc"])
    for n in range(1, 9):
        client.post_form(f"/releases/{release.code}/criteria/{n}/statement", {"text": "Not needed."})
    assert client.post_form(f"/releases/{release.code}/evidence/submit", {}).status_code == 303
    with app.app_context():
        sub = db.session.scalar(sa.select(EvidenceSubmission))
        assert as_utc(sub.submitted_at).astimezone(UK).date() == dt.date(2021, 1, 20)
        assert sub.due_on == dt.date(2021, 1, 26) and timeliness(sub) == "on time"
    assert "DCC submitted its evidence (on time)" in client.get(f"/releases/{release.code}/audit").get_data(
        as_text=True)


def test_an_answer_by_date_in_the_past_is_refused_on_its_field(app, client, users, release):
    client.login(users["opsg"])
    for htmx in (False, True):
        response = ask(client, release, due=dt.date(2021, 1, 19), htmx=htmx)
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "The answer-by date must be today or in the future" in html
        assert 'href="#due_on' in html  # the summary links to the date
    assert requests_(app) == []


def test_an_answered_request_is_not_called_open(app, client, users, release):
    client.login(users["opsg"])
    assert ask(client, release).status_code in (200, 303)
    [req] = requests_(app)
    client.logout()
    client.login(users["dcc"])
    assert client.post_form(req_url(release, 1, f"/{req.id}/answer"), {"comment": "It is attached."}).status_code \
        in (200, 303)
    client.logout()
    client.login(users["opsg"])
    html = assess(client, release, kind="final", password=PASSWORD).get_data(as_text=True)
    assert "The owner has answered the evidence request on criterion 1: review the answer." in html
    assert "open evidence request" not in html
