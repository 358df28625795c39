"""SECAS creates a release, blank or from an earlier one: what it carries over, what it refuses, what it records."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.releases import lifecycle
from portal.releases.models import CostItem, Criterion, MilestoneKind, Release, RidVersion, ScopeEntry, Stage
from portal.timeutil import working_days_between
from releases_html import page_text

GO_LIVE = dt.date(2031, 6, 26)  # a Thursday, not a bank holiday


def _form(template_id: int = 0, **overrides) -> dict:
    data = {"template_id": str(template_id), "code": "jun-2031", "name": "June 2031 SEC Release",
            "planned_go_live": [str(GO_LIVE.day), str(GO_LIVE.month), str(GO_LIVE.year)],
            "sec_version": "SEC v41.0"}
    data.update(overrides)
    return data


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (Release, RidVersion, AuditEvent))


def test_only_secas_is_offered_and_allowed_to_create_a_release(app, users, login, make_release):
    make_release()
    client = login(users["dcc"])
    assert "Create a release" not in client.get("/").get_data(as_text=True)
    before = _counts(app)
    assert client.get("/new-release").status_code == 403
    assert client.post_form("/new-release", _form()).status_code == 403
    assert _counts(app) == before
    client.logout()
    client = login(users["secas"])
    assert 'href="/new-release"' in client.get("/").get_data(as_text=True)
    assert client.get("/new-release").status_code == 200


def test_a_blank_release_starts_in_draft_with_rid_0_1_and_an_audit_event(app, users, login):
    client = login(users["secas"])
    response = client.post_form("/new-release", _form())
    assert response.status_code == 303 and response.headers["Location"] == "/releases/jun-2031"
    page = page_text(client.get("/releases/jun-2031").get_data(as_text=True))
    assert "June 2031 SEC Release" in page
    with app.app_context():
        release = db.session.scalar(sa.select(Release).filter_by(code="jun-2031"))
        assert release.stage == Stage.DRAFT and release.sec_version == "SEC v41.0"
        assert [(v.number, v.change_note) for v in release.rid_versions] == [("0.1", "First draft")]
        assert not release.criteria and not release.milestones
        event = db.session.scalar(sa.select(AuditEvent).filter_by(action="release.created", release_id=release.id))
        assert event is not None and event.actor_id == users["secas"].id


def test_from_a_template_it_carries_criteria_glossary_test_phases_and_the_timeline_only(app, users, login,
                                                                                       make_release):
    template = make_release()
    client = login(users["secas"])
    assert client.post_form("/new-release", _form(template.id)).status_code == 303
    with app.app_context():
        old = db.session.get(Release, template.id)
        new = db.session.scalar(sa.select(Release).filter_by(code="jun-2031"))
        assert [(c.number, c.text, c.owner_role) for c in new.criteria] == \
            [(c.number, c.text, c.owner_role) for c in old.criteria]
        assert [(g.acronym, g.term) for g in new.glossary] == [(g.acronym, g.term) for g in old.glossary]
        assert [(t.phase, t.applies, t.reason) for t in new.test_phases] == \
            [(t.phase, t.applies, t.reason) for t in old.test_phases]
        assert len(new.milestones) == len(old.milestones)
        for before, after in zip(sorted(old.milestones, key=lambda m: m.position),
                                 sorted(new.milestones, key=lambda m: m.position)):
            assert after.event == before.event
            if after.kind == MilestoneKind.GO_LIVE:
                assert after.due_on == GO_LIVE
            else:
                assert working_days_between(after.due_on, GO_LIVE) == \
                    working_days_between(before.due_on, old.planned_go_live), before.event
        for model in (ScopeEntry, CostItem):
            assert not db.session.scalars(sa.select(model).filter_by(release_id=new.id)).all()
        assert new.rid_versions[0].change_note == "First draft, from the February 2021 SEC Release"
        assert new.rid_versions[0].snapshot["criteria"]  # the version holds the copied RID
        assert db.session.scalar(sa.select(sa.func.count(Criterion.id)).where(Criterion.release_id == old.id)) == 10


def _refused(app, client, data, message):
    before = _counts(app)
    response = client.post_form("/new-release", data)
    assert response.status_code == 422, response.status_code
    body = page_text(response.get_data(as_text=True))
    assert "There is a problem" in body and message in body, body[:1500]
    assert _counts(app) == before


def test_bad_input_is_refused_with_422_and_nothing_stored(app, users, login, make_release):
    make_release()
    client = login(users["secas"])
    _refused(app, client, _form(code="feb-2021"), "A release with the code feb-2021 already exists")
    _refused(app, client, _form(planned_go_live=["28", "6", "2031"]), "is not a Working Day: it is a weekend")
    _refused(app, client, _form(planned_go_live=["25", "12", "2031"]), "bank holiday")
    _refused(app, client, _form(planned_go_live=["2", "6", "2025"]), "must be today or in the future")
    _refused(app, client, _form(code="", name="", sec_version="", planned_go_live=["", "", ""]),
             "Enter the release's code")
    _refused(app, client, _form(name="  "), "Enter the release's name")
    _refused(app, client, _form(template_id=999), "Select one of the options shown")


def test_a_code_taken_by_a_concurrent_request_is_a_clear_422(app, users, login, make_release, monkeypatch):
    make_release()
    monkeypatch.setattr(lifecycle, "code_taken", lambda code: False)  # the other request commits after our check
    client = login(users["secas"])
    _refused(app, client, _form(code="feb-2021"), "A release with the code feb-2021 already exists")
