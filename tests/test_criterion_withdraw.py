"""SECAS withdraws an acceptance criterion that has a record against it: the criterion, its evidence and its
assessments stay, marked withdrawn; nobody is asked to act on it again and the recommendation does not wait on it."""
from __future__ import annotations

import sqlalchemy as sa

from decisions_support import client_for, recommend
from pdf_helpers import pdf_text
from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.criteria.evidence_models import EvidenceFile
from portal.criteria.models import AssessmentKind, AssessmentStatus
from portal.criteria.services import assess_criterion
from portal.extensions import db
from portal.releases.models import Criterion, Release, Stage
from portal.tasks import tasks_for
from releases_html import page_text, row_cells
from tests.test_evidence_upload import upload

from conftest import PASSWORD

BASE = "/releases/feb-2021"


def criterion(app, number: int) -> Criterion:
    with app.app_context():
        found = db.session.scalar(sa.select(Criterion).filter_by(number=number))
        db.session.expunge(found)
        return found


def titles(app, user) -> list[str]:
    with app.app_context():
        return [t.title for t in tasks_for(db.session.get(User, user.id))]


def test_a_criterion_with_evidence_is_withdrawn_and_stays_in_the_record(app, client, users, make_release):
    release = make_release(Stage.EVIDENCE)
    dcc = client_for(app, users["dcc"])
    assert upload(dcc, release, 8).status_code in (200, 303)
    eight = criterion(app, 8)
    secas = client_for(app, users["secas"])

    page = secas.get(BASE).get_data(as_text=True)
    assert f"{BASE}/criteria/{eight.id}/withdraw" in page  # answered: withdrawn, not removed
    assert f"{BASE}/criteria/{eight.id}/remove" not in page
    assert f"{BASE}/criteria/{criterion(app, 7).id}/remove" in page  # nobody has answered 7: it can go
    assert secas.post_form(f"{BASE}/criteria/{eight.id}/remove", {}).status_code == 409

    # The reason is always asked for; without it nothing changes.
    response = secas.post_form(f"{BASE}/criteria/{eight.id}/withdraw", {"change_note": "  "})
    assert response.status_code == 422
    assert "Say why the criterion is withdrawn" in response.get_data(as_text=True)
    assert criterion(app, 8).withdrawn_at is None

    response = secas.post_form(f"{BASE}/criteria/{eight.id}/withdraw",
                               {"change_note": "Criterion 8 is covered by the DCC's deployment confirmation."})
    assert response.status_code == 303
    assert criterion(app, 8).withdrawn_at is not None
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.details["note"]) == ("rid.criterion_withdrawn",
                                                        "Criterion 8 is covered by the DCC's deployment confirmation.")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile)) == 1  # the evidence stays

    html = secas.get(BASE).get_data(as_text=True)
    assert row_cells(html, f"criterion-{eight.id}")[1].endswith("Withdrawn")
    assert f"{BASE}/criteria/{eight.id}/edit" not in html  # nothing more to change on it
    assert secas.post_form(f"{BASE}/criteria/{eight.id}/withdraw", {"change_note": "Again"}).status_code == 409
    assert secas.post_form(f"{BASE}/criteria/{eight.id}/edit",
                           {"text": "New words", "owner_role": "dcc"}).status_code == 409

    # The DCC is no longer asked for it and cannot add to it.
    assert "Add evidence for criterion 8" not in titles(app, users["dcc"])
    assert "Add evidence for criterion 7" in titles(app, users["dcc"])
    refused = upload(dcc, release, 8)
    assert refused.status_code == 409 and "withdrawn" in page_text(refused.get_data(as_text=True))


def test_the_recommendation_does_not_wait_on_a_withdrawn_criterion(app, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    with app.app_context():
        opsg = db.session.get(User, users["opsg"].id)
        for c in db.session.get(Release, release.id).criteria:
            if c.number != 10:
                assess_criterion(opsg, c, AssessmentStatus.MET, "Evidence reviewed.", AssessmentKind.FINAL, PASSWORD)
        db.session.commit()
    chair = client_for(app, users["opsg_chair"])
    assert recommend(chair, release.code).status_code == 409  # criterion 10 is still to assess
    assert "Assess criterion 10" in titles(app, users["opsg"])

    secas = client_for(app, users["secas"])
    ten = criterion(app, 10)
    assert secas.post_form(f"{BASE}/criteria/{ten.id}/withdraw",
                           {"change_note": "SECAS readiness is confirmed separately."}).status_code == 303
    assert "Assess criterion 10" not in titles(app, users["opsg"])
    assert recommend(chair, release.code).status_code in (200, 303)


def test_once_baselined_a_withdrawal_makes_a_new_rid_version_with_its_reason(app, users, make_release):
    release = make_release()
    chair = client_for(app, users["panel_chair"])
    assert chair.post_form(f"{BASE}/baseline", {"meeting_on": ["14", "10", "2020"],
                                                "minute_ref": "84/03"}).status_code == 303
    with app.app_context():
        rel = db.session.get(Release, release.id)
        assert rel.stage == Stage.EVIDENCE and rel.is_baselined
        versions = len(rel.rid_versions)
    upload(client_for(app, users["dcc"]), release, 3)
    three = criterion(app, 3)
    secas = client_for(app, users["secas"])
    assert secas.post_form(f"{BASE}/criteria/{three.id}/withdraw",
                           {"change_note": "Merged into criterion 2."}).status_code == 303
    with app.app_context():
        rel = db.session.get(Release, release.id)
        assert len(rel.rid_versions) == versions + 1
        assert rel.rid_versions[-1].change_note == "Merged into criterion 2."
        # The RID as stored marks it, and only it.
        assert next(c for c in rel.rid_live["criteria"] if c["number"] == 3)["withdrawn"] is True
        assert not any("withdrawn" in c for c in rel.rid_live["criteria"] if c["number"] != 3)
    # The published RID (the live draft of the next version) says so too.
    assert "3. " + three.text + " (withdrawn)" in pdf_text(secas.get(f"{BASE}/rid.pdf").data)
