"""The release list and the release page, as each role sees them, with the timeline marked against a fixed today."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.access import Role
from portal.extensions import db
from portal.releases import services
from portal.releases.models import Milestone, MilestoneKind, Stage
from releases_html import page_text, row_cells

ROLES = ["secas", "dcc", "opsg_chair", "opsg", "panel_chair", "panel"]


@pytest.fixture
def app_config(app_config):
    """The portal's today is 27 January 2021: evidence was due the day before."""
    return {**app_config, "PORTAL_TODAY": "2021-01-27"}


def milestone_ids(app) -> dict[MilestoneKind, int]:
    with app.app_context():
        return {m.kind: m.id for m in db.session.scalars(sa.select(Milestone))}


@pytest.mark.parametrize("who", ROLES)
def test_release_list_shows_stage_go_live_and_next_deadline(client, users, make_release, who):
    make_release()
    client.login(users[who])
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = page_text(html)
    assert 'href="/releases/feb-2021"' in html
    assert ("February 2021 SEC Release Draft RID 25 February 2021 "
            "Panel baselines RID (SEC Panel), 14 August 2020: 114 Working Days overdue") in text
    assert 'class="govuk-tag govuk-tag--grey">Draft RID' in html


def test_release_list_next_deadline_moves_on_with_the_stage(client, users, make_release):
    make_release(Stage.OPSG_REVIEW)
    client.login(users["dcc"])
    text = page_text(client.get("/").get_data(as_text=True))
    assert ("Operations Group reviews status against the operational acceptance criteria (OpsG), "
            "2 February 2021: due in 4 Working Days") in text


@pytest.mark.parametrize("who", ROLES)
def test_release_page_shows_where_the_release_stands(client, users, make_release, who):
    make_release(Stage.EVIDENCE)
    client.login(users[who])
    response = client.get("/releases/feb-2021")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = page_text(html)
    assert ("Where this release stands Stage Evidence gathering Planned go-live 25 February 2021 Round 1 "
            "Who acts next DCC: Add evidence for criteria 1, 2, 3, 4, 5, 6, 7, 8 "
            "SECAS: Add evidence for criteria 9, 10 "
            "Next deadline DCC submits evidence against the operational acceptance criteria: "
            "26 January 2021 (1 Working Day overdue)") in text
    # Only SECAS sees the RID's edit controls.
    has_controls = "Change<span class=\"govuk-visually-hidden\"> the milestone" in html
    assert has_controls == (who == "secas")
    assert ("Add a criterion" in text) == (who == "secas")


def test_timeline_marks_done_next_and_overdue(client, users, make_release, app):
    make_release(Stage.EVIDENCE)
    ids = milestone_ids(app)
    client.login(users["opsg"])
    html = client.get("/releases/feb-2021").get_data(as_text=True)

    def status(kind):
        return row_cells(html, f"milestone-{ids[kind]}")[4]

    assert status(MilestoneKind.BASELINE) == "Done"
    assert status(MilestoneKind.EVIDENCE) == "Next Overdue1 Working Day overdue"
    assert status(MilestoneKind.OPSG_REVIEW) == "due in 4 Working Days"
    assert status(MilestoneKind.PANEL_DECISION) == "due in 12 Working Days"
    assert status(MilestoneKind.GO_LIVE) == "due in 21 Working Days"


def test_timeline_when_the_release_is_live_has_everything_done(client, users, make_release, app):
    make_release(Stage.LIVE)
    ids = milestone_ids(app)
    client.login(users["dcc"])
    html = client.get("/releases/feb-2021").get_data(as_text=True)
    assert [row_cells(html, f"milestone-{i}")[4] for i in ids.values()] == ["Done"] * 5
    assert "Who acts next No one: nothing is waiting." in page_text(html)


def test_a_deferred_release_has_its_panel_decision_done_but_not_go_live(app, make_release):
    release = make_release(Stage.DEFERRED)
    with app.app_context():
        release = db.session.merge(release)
        marks = {m.kind: services.timeline_marks(release)[m.id] for m in release.milestones}
    assert marks[MilestoneKind.PANEL_DECISION].done
    assert not marks[MilestoneKind.GO_LIVE].done and marks[MilestoneKind.GO_LIVE].is_next


@pytest.mark.parametrize("who, expected", [
    ("panel_chair", None),
    ("panel", "Only the SEC Panel chair can do this."),
    ("secas", "Only the SEC Panel chair can do this."),
    ("dcc", "Only the SEC Panel chair can do this."),
])
def test_workflow_panel_offers_baselining_to_the_panel_chair_only(client, users, make_release, who, expected):
    make_release()
    client.login(users[who])
    html = client.get("/releases/feb-2021").get_data(as_text=True)
    has_button = 'href="/releases/feb-2021/baseline"' in html
    assert has_button == (expected is None)
    # Anyone else is not offered the step at all (it still shows as who acts next), and a replayed post is
    # refused with the reason.
    assert ('id="workflow-actions"' in html) == (expected is None)
    if expected:
        refused = client.post_form("/releases/feb-2021/baseline")
        assert refused.status_code == 403
        if who == "panel":  # the others are refused by the route's roles before the action table is asked
            assert expected in page_text(refused.get_data(as_text=True))


def test_workflow_panel_is_absent_when_the_next_step_is_automatic(client, users, make_release):
    make_release(Stage.EVIDENCE)
    client.login(users["panel_chair"])
    html = client.get("/releases/feb-2021").get_data(as_text=True)
    assert 'id="workflow-actions"' not in html


def test_version_history_links_to_a_readable_snapshot(client, users, make_release):
    make_release()
    client.login(users["panel"])
    html = client.get("/releases/feb-2021").get_data(as_text=True)
    assert 'href="/releases/feb-2021/rid/0.1"' in html
    response = client.get("/releases/feb-2021/rid/0.1")
    assert response.status_code == 200
    snapshot_html = response.get_data(as_text=True)
    text = page_text(snapshot_html)
    assert "RID version 0.1" in text and "Issued 7 August 2020" in text
    assert "First draft issued to the SEC Panel for comment." in text
    assert "Panel baselines RID" in text and "Data Communication Company" in text and "£340,000" in text
    assert "Change<span" not in snapshot_html


@pytest.mark.parametrize("url", ["/releases/nope", "/releases/feb-2021/rid/9.9", "/releases/nope/rid/0.1"])
def test_unknown_release_or_version_is_not_found(client, users, make_release, url):
    make_release()
    client.login(users["dcc"])
    assert client.get(url).status_code == 404


def test_release_page_queries_do_not_grow_with_its_rows(client, users, make_release, app):
    release = make_release()
    client.login(users["secas"])

    def count_queries() -> int:
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(1)  # noqa: E731
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/releases/feb-2021").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    before = count_queries()
    with app.app_context():
        release = db.session.merge(release)
        actor = db.session.merge(users["secas"])
        for n in range(3):
            services.add_criterion(actor, release, text=f"Extra criterion {n}", owner_role=Role.DCC)
            services.add_milestone(actor, release, kind=MilestoneKind.OTHER, due_on=release.planned_go_live,
                                   event=f"Extra event {n}", notes="", acting_role=Role.SECAS)
        db.session.commit()
    assert count_queries() <= before
