"""OpsG assessments (preliminary and signed final), evidence lock, the readiness grid."""
from __future__ import annotations

import html
import threading

import pytest
import sqlalchemy as sa

from portal.criteria import services
from portal.criteria.models import Assessment, AssessmentKind, AssessmentStatus
from portal.criteria.evidence_models import EvidenceFile
from portal.extensions import db
from portal.releases.models import Criterion, Release, Stage
from portal.signatures import Signature, verify_signature
from tests.conftest import PASSWORD
from tests.test_evidence_upload import PDF, events, files, upload


def assess_url(release, number: int) -> str:
    return f"/releases/{release.code}/criteria/{number}/assessments"


def assess(client, release, number=1, status="met", kind="preliminary", rationale="Evidence is complete.",
           password="", htmx=False):
    return client.post_form(assess_url(release, number), {"status": status, "kind": kind, "rationale": rationale,
                                                          "password": password}, htmx=htmx)


def assessments(app) -> list[Assessment]:
    with app.app_context():
        return db.session.scalars(sa.select(Assessment).order_by(Assessment.id)).all()


def test_opsg_records_preliminary_assessment_during_evidence(app, client, users, make_release):
    release = make_release(Stage.EVIDENCE)
    client.login(users["opsg"])
    response = assess(client, release, status="partially_met", htmx=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Partially met" in body and "Preliminary assessment" in body
    [row] = assessments(app)
    assert row.kind == AssessmentKind.PRELIMINARY and row.signature_id is None
    assert events(app, "assessment.") == ["assessment.preliminary"]


def test_final_assessment_refused_during_evidence(app, client, users, make_release):
    release = make_release(Stage.EVIDENCE)
    client.login(users["opsg"])
    response = assess(client, release, kind="final", password=PASSWORD)
    assert response.status_code == 409 and "during OpsG review" in response.get_data(as_text=True)
    assert assessments(app) == []


@pytest.mark.parametrize("who", ["dcc", "secas", "panel"])
def test_only_opsg_assesses(app, client, users, make_release, who):
    release = make_release(Stage.OPSG_REVIEW)
    client.login(users[who])
    assert assess(client, release).status_code == 403
    assert assessments(app) == [] and events(app, "assessment.") == []


def test_rationale_and_status_required(app, client, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    client.login(users["opsg"])
    response = assess(client, release, rationale="   ")
    assert response.status_code == 422 and "Enter the rationale" in response.get_data(as_text=True)
    response = assess(client, release, status="sort_of")
    assert response.status_code == 422
    assert assessments(app) == []


def test_final_assessment_is_signed_over_the_evidence_hashes(app, client, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    client.login(users["dcc"])
    upload(client, release, 1)
    sha = files(app)[0].sha256
    client.logout()
    client.login(users["opsg"])
    response = assess(client, release, kind="wrong")
    assert response.status_code == 422
    response = assess(client, release, kind="final", password="")
    assert response.status_code == 422 and "Enter your password to sign" in response.get_data(as_text=True)
    response = assess(client, release, kind="final", password="not my password")
    assert response.status_code == 422 and "password you entered is not correct" in response.get_data(as_text=True)
    assert assessments(app) == []
    response = assess(client, release, kind="final", password=PASSWORD, htmx=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Signed by" in body and "assessed as Met" in body
    [row] = assessments(app)
    assert row.is_current_final
    with app.app_context():
        signature = db.session.get(Signature, row.signature_id)
        assert signature.content["evidence"] == [{"name": "report.pdf", "sha256": sha}]
        assert signature.meaning == "assessed as Met" and verify_signature(signature)
        assert signature.digest in body


def test_evidence_locked_after_final_assessment(app, client, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    client.login(users["dcc"])
    upload(client, release, 1)
    file_id = files(app)[0].id
    client.logout()
    client.login(users["opsg"])
    assert assess(client, release, kind="final", password=PASSWORD).status_code == 303
    assert assess(client, release, kind="final", password=PASSWORD).status_code == 409
    client.logout()
    client.login(users["dcc"])
    response = upload(client, release, 1, content=PDF + b"more", name="more.pdf")
    assert response.status_code == 409 and "locked" in html.unescape(response.get_data(as_text=True))
    assert client.post_form(f"/evidence/{file_id}/withdraw", {"reason": "oops"}).status_code == 409
    assert client.post_form(f"/releases/{release.code}/criteria/1/statement", {"text": "x"}).status_code == 409
    assert len(files(app)) == 1 and files(app)[0].withdrawn_at is None
    # Other criteria stay open.
    assert upload(client, release, 2).status_code == 303


def test_every_assessment_is_kept_and_history_shown(app, client, users, make_release):
    release = make_release(Stage.EVIDENCE)
    client.login(users["opsg"])
    assess(client, release, status="not_met", rationale="Nothing yet")
    assess(client, release, status="partially_met", rationale="Half there")
    page = client.get(f"/releases/{release.code}/criteria/1").get_data(as_text=True)
    assert "History (2 assessments)" in page and "Nothing yet" in page and "Half there" in page
    assert "Trend: Not met → Partially met" in page
    assert len(assessments(app)) == 2


def test_readiness_grid_counts_latest_status(app, client, users, make_release):
    release = make_release(Stage.EVIDENCE)
    client.login(users["opsg"])
    assess(client, release, number=1, status="not_met")
    assess(client, release, number=1, status="met")
    assess(client, release, number=9, status="not_applicable")
    response = client.get(f"/releases/{release.code}/criteria/grid")
    body = response.get_data(as_text=True)
    assert 'id="readiness-grid"' in body and "portal-grid__cell--met" in body
    assert "Met: <strong>1</strong>" in body and "Not applicable: <strong>1</strong>" in body
    assert "Not assessed: <strong>8</strong>" in body and "Not met: <strong>0</strong>" in body
    with app.app_context():
        grid = services.readiness_grid(db.session.get(Release, release.id))
        assert [c.label for c in grid.cells][:2] == ["Met", "Not assessed"]


def test_concurrent_final_assessments_leave_exactly_one(app, users, make_release, tmp_path):
    release = make_release(Stage.OPSG_REVIEW)
    outcomes: list[str] = []
    barrier = threading.Barrier(10)

    def attempt():
        with app.app_context():
            from portal.auth.models import User
            actor = db.session.get(User, users["opsg"].id)
            criterion = db.session.scalar(sa.select(Criterion).where(Criterion.release_id == release.id,
                                                                     Criterion.number == 1))
            db.session.rollback()  # end the read so every thread starts its write after the barrier
            barrier.wait(timeout=60)
            try:
                services.assess_criterion(actor, criterion, AssessmentStatus.MET, "ok", AssessmentKind.FINAL,
                                          PASSWORD)
                db.session.commit()
                outcomes.append("ok")
            except Exception as err:  # noqa: BLE001 - collect the loser's refusal
                db.session.rollback()
                outcomes.append(type(err).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) <= {"ok", "Conflict"}, outcomes
    assert len([a for a in assessments(app) if a.is_current_final]) == 1
    assert events(app, "assessment.") == ["assessment.final"]
