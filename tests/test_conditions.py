"""Conditions of an "implement subject to conditions" recommendation: the owner marks each met with evidence, OpsG
accepts it or the Panel chair waives it with a reason, and go-live waits until every condition is settled. Also
the decision's basis: the RID version it was made against, and the criteria summary on the recommendation form."""
from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa
from conftest import PASSWORD
from decisions_support import assess_all, cast, client_for, close, confirm, count, decide, open_vote, stage_of
from releases_html import page_text

from portal.auth.models import User
from portal.notifications.models import Notification
from portal.decisions.models import Condition, ConditionState, Decision, GoLiveConfirmation
from portal.extensions import db
from portal.releases.models import Stage
from portal.tasks import tasks_for

DCC_CONDITION = "Deploy the fix for defect 42."
SECAS_CONDITION = "Brief the SEC Parties on the change."


def recommend_with_conditions(app, users, release, dcc: str = DCC_CONDITION, secas: str = SECAS_CONDITION):
    return client_for(app, users["opsg_chair"]).post_form(
        f"/releases/{release.code}/recommendation",
        {"kind": "with_conditions", "conditions": dcc, "secas_conditions": secas,
         "reasons": "One defect is still open.", "password": PASSWORD})


@pytest.fixture
def recommended(app, users, make_release):
    """OpsG review: OpsG recommends implementing subject to condition 1 (DCC) and condition 2 (SECAS)."""
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    assert recommend_with_conditions(app, users, release).status_code == 303
    return release


@pytest.fixture
def approved(app, users, recommended):
    """Go decided, with both conditions still open."""
    chair = client_for(app, users["panel_chair"])
    assert open_vote(chair, recommended.code).status_code == 303
    for key in ("panel_chair", "panel"):
        assert cast(client_for(app, users[key]), recommended.code, users[key]).status_code == 303
    assert close(chair, recommended.code).status_code == 303
    assert decide(chair, recommended.code).status_code == 303
    assert stage_of(app, recommended) == Stage.APPROVED
    return recommended


def states(app, release) -> list[str]:
    with app.app_context():
        return [str(c.state) for c in db.session.scalars(
            sa.select(Condition).where(Condition.release_id == release.id).order_by(Condition.number))]


def mark_met(client, code: str, number: int, statement: str = "Deployed on 10 February.", *, htmx: bool = False,
             **fields):
    return client.post_form(f"/releases/{code}/conditions/{number}/met", {"statement": statement, **fields},
                            htmx=htmx)


def task_titles(app, user) -> list[str]:
    with app.test_request_context():
        return [t.title for t in tasks_for(db.session.get(User, user.id))]


# --- Recording them --------------------------------------------------------------------------------

def test_each_condition_is_a_row_with_its_owner(app, users, recommended):
    with app.app_context():
        rows = db.session.scalars(sa.select(Condition).order_by(Condition.number)).all()
        assert [(c.number, c.text, c.owner_role.label, c.state) for c in rows] == [
            (1, DCC_CONDITION, "DCC", ConditionState.OPEN), (2, SECAS_CONDITION, "SECAS", ConditionState.OPEN)]
    text = page_text(client_for(app, users["panel"]).get(f"/releases/{recommended.code}").get_data(as_text=True))
    assert f"{DCC_CONDITION} (DCC) Open" in text and f"{SECAS_CONDITION} (SECAS) Open" in text


def test_conditions_are_listed_not_joined_with_semicolons(app, users, recommended):
    chair = client_for(app, users["panel_chair"])
    assert open_vote(chair, recommended.code).status_code == 303
    html = chair.get(f"/releases/{recommended.code}/vote").get_data(as_text=True)
    assert ".;" not in html and "; Brief" not in html
    assert html.count('data-testid="conditions"') == 1 and f"<li>{DCC_CONDITION}" in html


def test_subject_to_conditions_needs_a_condition(app, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    response = recommend_with_conditions(app, users, release, dcc="  ", secas="")
    assert response.status_code == 422
    text = page_text(response.get_data(as_text=True))
    assert "There is a problem" in text and "List the conditions, one on each line, under the DCC or SECAS." in text
    assert count(app, Condition) == 0


def test_the_recommendation_form_shows_each_criterions_final_assessment(app, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    html = client_for(app, users["opsg_chair"]).get(f"/releases/{release.code}/recommendation").get_data(as_text=True)
    summary = page_text(html.split('data-testid="criteria-summary"')[1].split("</table>")[0])
    assert summary.count("Met Evidence reviewed.") == 10 and "DCC" in summary and "SECAS" in summary


# --- The owner marks it met ------------------------------------------------------------------------

def test_only_the_owner_marks_a_condition_met(app, users, recommended):
    code = recommended.code
    secas = client_for(app, users["secas"])
    response = mark_met(secas, code, 1)
    assert response.status_code == 403
    assert "Condition 1 belongs to DCC: only DCC can mark it met." in page_text(response.get_data(as_text=True))
    assert mark_met(client_for(app, users["opsg"]), code, 1).status_code == 403
    assert mark_met(client_for(app, users["panel_chair"]), code, 1).status_code == 403
    assert states(app, recommended) == ["open", "open"]
    assert mark_met(client_for(app, users["dcc"]), code, 1).status_code == 303
    assert mark_met(secas, code, 2).status_code == 303
    assert states(app, recommended) == ["met", "met"]


def test_marking_met_needs_a_statement_and_stores_nothing_without_one(app, users, recommended):
    dcc = client_for(app, users["dcc"])
    response = mark_met(dcc, recommended.code, 1, statement="  ")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "There is a problem" in page_text(html) and 'href="#statement-1"' in html
    assert "Enter a statement of how the condition has been met" in page_text(html)
    fragment = mark_met(dcc, recommended.code, 1, statement="", htmx=True)
    assert fragment.status_code == 422 and fragment.get_data(as_text=True).startswith('<section id="conditions"')
    assert states(app, recommended) == ["open", "open"]


def test_marking_met_with_a_file_keeps_it_by_its_hash(app, users, recommended):
    body = b"%PDF-1.4\n% deployment report\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    dcc = client_for(app, users["dcc"])
    response = mark_met(dcc, recommended.code, 1, file=(io.BytesIO(body), "deployment.pdf"), htmx=True)
    assert response.status_code == 200 and "release-changed" in response.headers["HX-Trigger"].split(", ")
    text = page_text(response.get_data(as_text=True))
    assert "Met, waiting for OpsG" in text and "deployment.pdf" in text and "Deployed on 10 February." in text
    download = client_for(app, users["panel"]).get(f"/releases/{recommended.code}/conditions/1/file")
    assert download.status_code == 200 and download.data == body
    assert mark_met(dcc, recommended.code, 1).status_code == 409  # already met: not twice


def test_a_file_the_portal_does_not_accept_is_refused(app, users, recommended):
    response = mark_met(client_for(app, users["dcc"]), recommended.code, 1,
                        file=(io.BytesIO(b"\x7fELF\x02\x01\x01" + b"\0" * 64), "tool.exe"))
    assert response.status_code == 422
    assert "The file is not a type the portal accepts" in page_text(response.get_data(as_text=True))
    assert states(app, recommended) == ["open", "open"]


# --- OpsG accepts, the Panel chair waives ----------------------------------------------------------

def test_only_opsg_accepts_and_only_once_met(app, users, recommended):
    code = recommended.code
    opsg = client_for(app, users["opsg"])
    early = opsg.post_form(f"/releases/{code}/conditions/1/accept")
    assert early.status_code == 409
    assert "Condition 1 is waiting for DCC to mark it met" in page_text(early.get_data(as_text=True))
    assert mark_met(client_for(app, users["dcc"]), code, 1).status_code == 303
    for key in ("dcc", "secas", "panel_chair"):
        assert client_for(app, users[key]).post_form(f"/releases/{code}/conditions/1/accept").status_code == 403
    assert opsg.post_form(f"/releases/{code}/conditions/1/accept").status_code == 303
    assert states(app, recommended) == ["accepted", "open"]
    page = page_text(opsg.get(f"/releases/{code}/conditions").get_data(as_text=True))
    assert "Accepted by OpsG" in page and f"By {users['opsg'].name}" in page


def test_waiving_needs_the_panel_chair_and_a_reason(app, users, approved):
    code = approved.code
    url = f"/releases/{code}/conditions/2/waive"
    reason = {"reason": "SECAS briefs the parties at go-live."}
    assert client_for(app, users["panel"]).post_form(url, reason).status_code == 403
    assert client_for(app, users["opsg_chair"]).post_form(url, reason).status_code == 403
    chair = client_for(app, users["panel_chair"])
    response = chair.post_form(url, {"reason": " "})
    assert response.status_code == 422
    assert "Enter the Panel's reason for waiving the condition" in page_text(response.get_data(as_text=True))
    assert states(app, approved) == ["open", "open"]
    assert chair.post_form(url, reason).status_code == 303
    assert states(app, approved) == ["open", "waived"]
    with app.app_context():
        assert db.session.scalar(sa.select(Condition.waive_reason).where(Condition.number == 2)) == reason["reason"]


# --- Go-live waits for every condition ------------------------------------------------------------

def test_go_live_is_refused_while_a_condition_is_open_and_says_which(app, users, approved):
    code = approved.code
    secas = client_for(app, users["secas"])
    response = confirm(secas, code, "readiness")
    assert response.status_code == 409
    text = page_text(response.get_data(as_text=True))
    assert "Go-live waits until OpsG accepts every condition" in text
    assert f"condition 1 (DCC: {DCC_CONDITION}) is open" in text and "condition 2 (SECAS:" in text
    assert count(app, GoLiveConfirmation) == 0
    page = page_text(secas.get(f"/releases/{code}/go-live").get_data(as_text=True))
    assert "Not yet. Go-live waits until OpsG accepts every condition" in page
    # The owners' and OpsG's tasks lead there.
    assert "Mark condition 1 as met" in task_titles(app, users["dcc"])
    assert "Mark condition 2 as met" in task_titles(app, users["secas"])
    assert mark_met(client_for(app, users["dcc"]), code, 1).status_code == 303
    assert "Accept condition 1 as met" in task_titles(app, users["opsg"])
    assert client_for(app, users["opsg"]).post_form(f"/releases/{code}/conditions/1/accept").status_code == 303
    response = confirm(secas, code, "readiness")
    assert response.status_code == 409 and "condition 2 (SECAS:" in page_text(response.get_data(as_text=True))
    assert "condition 1 (" not in page_text(response.get_data(as_text=True))
    assert client_for(app, users["panel_chair"]).post_form(
        f"/releases/{code}/conditions/2/waive", {"reason": "Briefed at the Panel."}).status_code == 303
    assert confirm(secas, code, "readiness").status_code == 303
    assert confirm(secas, code, "sec_implemented", "SEC v40.0").status_code == 303
    assert confirm(client_for(app, users["dcc"]), code, "deployment").status_code == 303
    assert stage_of(app, approved) == Stage.LIVE


# --- The decision's basis and the pack -------------------------------------------------------------

def test_the_decision_records_the_rid_version_and_the_pack_shows_conditions(app, users, approved):
    with app.app_context():
        decision = db.session.scalar(sa.select(Decision))
        assert decision.rid_version is not None and decision.rid_version.number == "0.1"
    code = approved.code
    client = client_for(app, users["dcc"])
    assert "Made against RID version 0.1" in page_text(client.get(f"/releases/{code}").get_data(as_text=True))
    assert mark_met(client, code, 1).status_code == 303
    pack = json.loads(client.get(f"/releases/{code}/pack.json").get_data(as_text=True))
    assert pack["decisions"][0]["rid_version"] == "0.1"
    tracked = pack["recommendations"][0]["tracked_conditions"]
    assert [(c["number"], c["owner"], c["state"]) for c in tracked] == [(1, "dcc", "met"), (2, "secas", "open")]
    assert tracked[0]["met_statement"] == "Deployed on 10 February."


def test_bad_input_is_refused_in_gov_uk_style_and_stores_nothing(app, users, approved):
    code = approved.code
    too_long = mark_met(client_for(app, users["dcc"]), code, 1, statement="x" * 10001)
    assert too_long.status_code == 422
    assert "The statement must be 10000 characters or fewer" in page_text(too_long.get_data(as_text=True))
    empty_file = mark_met(client_for(app, users["dcc"]), code, 1, file=(io.BytesIO(b""), "empty.pdf"))
    assert empty_file.status_code == 422 and "The selected file is empty." in page_text(empty_file.get_data(as_text=True))
    waive = client_for(app, users["panel_chair"]).post_form(f"/releases/{code}/conditions/2/waive", {"reason": ""},
                                                              htmx=True)
    assert waive.status_code == 422 and waive.get_data(as_text=True).startswith('<section id="conditions"')
    assert 'href="#reason-2"' in waive.get_data(as_text=True)
    assert client_for(app, users["dcc"]).get(f"/releases/{code}/conditions/9/met").status_code == 405
    assert mark_met(client_for(app, users["dcc"]), code, 9).status_code == 404
    assert client_for(app, users["dcc"]).get(f"/releases/{code}/conditions/1/file").status_code == 404
    assert states(app, approved) == ["open", "open"]
    page = page_text(client_for(app, users["secas"]).get(f"/releases/{code}/go-live").get_data(as_text=True))
    assert "See the conditions of the OpsG recommendation" in page


def test_each_step_tells_whoever_acts_next(app, users, approved):
    def subjects(user) -> list[str]:
        with app.app_context():
            return list(db.session.scalars(sa.select(Notification.subject).where(Notification.user_id == user.id)))

    assert any("conditions for DCC to meet" in s for s in subjects(users["dcc"]))
    assert any("conditions for SECAS to meet" in s for s in subjects(users["secas"]))
    assert mark_met(client_for(app, users["dcc"]), approved.code, 1).status_code == 303
    assert any("condition 1 is ready for OpsG" in s for s in subjects(users["opsg"]))
    assert mark_met(client_for(app, users["secas"]), approved.code, 2).status_code == 303
    opsg = client_for(app, users["opsg"])
    assert opsg.post_form(f"/releases/{approved.code}/conditions/1/accept").status_code == 303
    assert not any("every condition is settled" in s for s in subjects(users["secas"]))
    assert opsg.post_form(f"/releases/{approved.code}/conditions/2/accept").status_code == 303
    assert any("every condition is settled" in s for s in subjects(users["secas"]))


def test_the_services_require_their_action(app, users, approved):
    """The rules hold below HTTP too: each service begins by requiring its action from the table."""
    from portal.access import Conflict, Invalid, PermissionDenied
    from portal.decisions import services
    from portal.queries import ReleaseFacts

    with app.app_context():
        release = db.session.get(type(approved), approved.id)
        first, second = ReleaseFacts(release).conditions
        user = lambda key: db.session.get(User, users[key].id)  # noqa: E731
        with pytest.raises(PermissionDenied):
            services.mark_condition_met(user("secas"), release, first, statement="Done.")
        with pytest.raises(Invalid):
            services.mark_condition_met(user("dcc"), release, first, statement=" ")
        with pytest.raises(Conflict):
            services.accept_condition(user("opsg"), release, first)  # not met yet
        with pytest.raises(PermissionDenied):
            services.waive_condition(user("panel"), release, second, "A reason.")
        with pytest.raises(Invalid):
            services.waive_condition(user("panel_chair"), release, second, "")
        db.session.rollback()
    assert states(app, approved) == ["open", "open"]


@pytest.mark.parametrize("who", ["dcc", "secas", "opsg", "panel_chair"])
def test_pages_with_conditions_stay_within_the_query_budget(app, users, approved, who):
    """Issue 7's budget (15 queries a page) holds with conditions on the release, its go-live and My tasks."""
    client = client_for(app, users[who])
    with app.app_context():
        engine = db.engine
    queries = []
    count_it = lambda *args: queries.append(1)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", count_it)
    try:
        over = {}
        for url in (f"/releases/{approved.code}", f"/releases/{approved.code}/conditions", "/tasks",
                    f"/releases/{approved.code}/decision"):
            queries.clear()
            assert client.get(url).status_code == 200
            if len(queries) > 15:
                over[url] = len(queries)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count_it)
    assert over == {}


def test_a_decision_keeps_the_rid_version_it_was_made_against(app, users, make_release):
    """A later RID version (the replan after a No-go) does not change what an earlier decision was made on."""
    from decisions_support import decided

    release = decided(app, users, make_release(Stage.OPSG_REVIEW), [users["panel_chair"], users["panel"]],
                      ("no_go", "no_go"))
    response = client_for(app, users["secas"]).post_form(
        f"/releases/{release.code}/replan", {"new_go_live": ["25", "3", "2021"], "change_note": "Deferred."})
    assert response.status_code == 303
    with app.app_context():
        decision = db.session.scalar(sa.select(Decision))
        assert decision.rid_version.number == "0.1"
        assert db.session.get(type(release), release.id).current_rid.number == "0.2"
    pack = json.loads(client_for(app, users["opsg"]).get(f"/releases/{release.code}/pack.json").get_data(as_text=True))
    assert [d["rid_version"] for d in pack["decisions"]] == ["0.1"]
