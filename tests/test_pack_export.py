"""The decision pack: PDF and JSON for every signed-in role, and a JSON round trip into a fresh portal."""
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from conftest import PASSWORD
from portal.access import Role
from portal.audit.models import AuditEvent
from portal.audit.services import chain_head, record_event
from portal.auth.models import User
from portal.criteria.models import Assessment, AssessmentKind, AssessmentStatus, EvidenceRequest, RequestState
from portal.decisions.models import (Ballot, Choice, Condition, ConditionState, ConfirmationKind, Decision, GoLiveConfirmation, Outcome,
                                     Recommendation, RecommendationKind, Vote, VoteMember, VoteState)
from portal.criteria.evidence_models import EvidenceFile, EvidenceStatement, EvidenceSubmission
from portal.extensions import db
from portal.pack.export import build_pack
from portal.releases.models import Criterion, Release, Stage
from portal.signatures import Signature, sign, verify_signature

SHA_REPORT = "3f" * 32
T0 = dt.datetime(2021, 1, 20, 10, 0, tzinfo=dt.timezone.utc)


def _build_record(app, users, vote_state=VoteState.CLOSED) -> str:
    """A release with evidence, a request, assessments, a recommendation, a vote and a decision."""
    with app.app_context():
        u = {k: db.session.get(User, v.id) for k, v in users.items()}
        release = db.session.scalar(sa.select(Release))
        c1, c9 = (db.session.scalar(sa.select(Criterion).where(Criterion.release_id == release.id,
                                                                Criterion.number == n)) for n in (1, 9))
        rel = {"release_id": release.id}
        request = EvidenceRequest(**rel, criterion_id=c1.id, state=RequestState.CLOSED,
                                  question="Please add the PIT exit report.", asked_by_id=u["opsg"].id, asked_at=T0,
                                  answer="Added.", answered_by_id=u["dcc"].id, answered_at=T0 + dt.timedelta(days=1),
                                  closed_by_id=u["opsg"].id, closed_at=T0 + dt.timedelta(days=2))
        db.session.add(request)
        db.session.flush()
        first = EvidenceFile(**rel, criterion_id=c1.id, sha256="aa" * 32, size=100, content_type="application/pdf",
                             type_label="PDF", original_name="Old report.pdf", description="First go",
                             uploaded_by_id=u["dcc"].id, uploaded_at=T0, withdrawn_at=T0 + dt.timedelta(hours=1),
                             withdrawn_by_id=u["dcc"].id, withdraw_reason="Superseded")
        db.session.add(first)
        db.session.flush()
        db.session.add(EvidenceFile(**rel, criterion_id=c1.id, sha256=SHA_REPORT, size=123456,
                                    content_type="application/pdf", type_label="PDF",
                                    original_name="OAT exit report.pdf", description="Operational acceptance",
                                    uploaded_by_id=u["dcc"].id, uploaded_at=T0 + dt.timedelta(days=1),
                                    replaces_id=first.id, answers_request_id=request.id))
        db.session.add(EvidenceStatement(criterion_id=c9.id, text="SECAS is ready.", written_by_id=u["secas"].id,
                                         written_at=T0))
        db.session.add(EvidenceSubmission(**rel, role=Role.DCC, submitted_by_id=u["dcc"].id, submitted_at=T0,
                                          due_on=dt.date(2021, 1, 26)))
        db.session.add(Assessment(**rel, criterion_id=c1.id, status=AssessmentStatus.PARTIALLY_MET,
                                  kind=AssessmentKind.PRELIMINARY, rationale="Report missing",
                                  assessed_by_id=u["opsg"].id, assessed_at=T0))
        signature = sign(u["opsg"], PASSWORD, "I assess this criterion", {"criterion": 1, "status": "met"})
        db.session.add(Assessment(**rel, criterion_id=c1.id, status=AssessmentStatus.MET, kind=AssessmentKind.FINAL,
                                  rationale="Evidence complete", is_current_final=True, assessed_by_id=u["opsg"].id,
                                  assessed_at=T0 + dt.timedelta(days=3), signature_id=signature.id))
        signature = sign(u["opsg_chair"], PASSWORD, "OpsG recommends to the Panel", {"kind": "with_conditions"})
        recommendation = Recommendation(**rel, kind=RecommendationKind.WITH_CONDITIONS,
                                        conditions=["Monitor the first week of metrics"], reasons="All criteria met.",
                                        recorded_by_id=u["opsg_chair"].id, recorded_at=T0 + dt.timedelta(days=4),
                                        signature_id=signature.id)
        db.session.add(recommendation)
        db.session.flush()
        db.session.add(Condition(**rel, recommendation_id=recommendation.id, number=1,
                                 text="Monitor the first week of metrics", owner_role=Role.DCC,
                                 state=ConditionState.WAIVED, waive_reason="Monitored under the OMR anyway.",
                                 settled_by_id=u["panel_chair"].id, settled_at=T0 + dt.timedelta(days=6)))
        vote = Vote(**rel, state=vote_state, chair_id=u["panel_chair"].id, opened_at=T0 + dt.timedelta(days=5))
        db.session.add(vote)
        db.session.flush()
        for member in ("panel_chair", "panel"):
            db.session.add(VoteMember(vote_id=vote.id, member_id=u[member].id))
        for member, choice, current in (("panel", Choice.NO_GO, False), ("panel", Choice.GO, True),
                                        ("panel_chair", Choice.GO, True)):
            signature = sign(u[member], PASSWORD, "I cast my ballot", {"choice": str(choice)})
            db.session.add(Ballot(vote_id=vote.id, member_id=u[member].id, cast_by_id=u[member].id, choice=choice,
                                  comment="Ready" if current else "", is_current=current,
                                  cast_at=T0 + dt.timedelta(days=5), signature_id=signature.id))
        if vote_state == VoteState.CLOSED:
            vote.closed_at, vote.closed_by_id, vote.outcome = T0 + dt.timedelta(days=6), u["panel_chair"].id, Outcome.GO
            signature = sign(u["panel_chair"], PASSWORD, "The Panel decides", {"outcome": "go"})
            decision = Decision(**rel, round=1, vote_id=vote.id, outcome=Outcome.GO, reasons="Go as planned.",
                                planned_go_live=release.planned_go_live, recorded_by_id=u["panel_chair"].id,
                                rid_version_id=release.current_rid.id,
                                recorded_at=T0 + dt.timedelta(days=6), signature_id=signature.id)
            db.session.add(decision)
            db.session.flush()
            signature = sign(u["secas"], PASSWORD, "SECAS is ready to implement", {"kind": "readiness"})
            db.session.add(GoLiveConfirmation(**rel, decision_id=decision.id, kind=ConfirmationKind.READINESS,
                                              confirmed_by_id=u["secas"].id, confirmed_at=T0 + dt.timedelta(days=7),
                                              signature_id=signature.id))
        record_event(u["panel_chair"], "decision.recorded", "Panel decision: Go", release=release)
        db.session.commit()
        return release.code


@pytest.fixture
def record(app, users, make_release):
    make_release(Stage.APPROVED)
    return _build_record(app, users)


@pytest.mark.parametrize("who", ["dcc", "secas", "opsg", "panel"])
def test_every_role_downloads_the_json_pack(client, users, record, who):
    client.login(users[who])
    response = client.get(f"/releases/{record}/pack.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    pack = response.get_json()
    assert pack["release"]["name"] == "February 2021 SEC Release"
    assert pack["rid"]["current_version"] == "0.1"
    assert [m["mp"] for m in pack["rid"]["summary"]["scope"]][:1] == ["MP092"]
    criterion = pack["criteria"][0]
    report = criterion["evidence"][1]
    assert (report["name"], report["size"], report["sha256"]) == ("OAT exit report.pdf", 123456, SHA_REPORT)
    assert report["uploaded_by"] == users["dcc"].email and report["uploaded_at"].startswith("2021-01-21T10:00")
    assert report["replaces"] == 0 and report["answers_request"] == [1, 0]
    assert criterion["evidence"][0]["withdraw_reason"] == "Superseded"
    assert [a["status"] for a in criterion["assessments"]] == ["partially_met", "met"]
    assert criterion["assessments"][1]["signature"]["meaning"] == "I assess this criterion"
    assert criterion["requests"][0]["question"] == "Please add the PIT exit report."
    assert pack["recommendations"][0]["conditions"] == ["Monitor the first week of metrics"]
    condition = pack["recommendations"][0]["tracked_conditions"][0]
    assert (condition["owner"], condition["state"], condition["waive_reason"]) == (
        "dcc", "waived", "Monitored under the OMR anyway.")
    vote = pack["votes"][0]
    assert vote["rules"]["chair_has_casting_vote"] is True
    assert vote["tally"] == {"go": 2, "no_go": 0, "abstain": 0, "eligible": 2, "quorum_needed": 2,
                             "has_quorum": True, "outcome": "go"}
    assert [b["choice"] for b in vote["ballots"]] == ["no_go", "go", "go"]
    decision = pack["decisions"][0]
    assert decision["outcome"] == "go" and len(decision["signature"]["digest"]) == 64
    with client.app.app_context():
        assert pack["audit_chain"]["head_hash"] == chain_head().hash
        assert pack["audit_chain"]["verified"] is True


def test_the_pdf_carries_the_record(client, users, record):
    client.login(users["panel"])
    response = client.get(f"/releases/{record}/pack.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join("\n".join(page.extract_text() for page in reader.pages).split())
    flat = "".join(text.split())  # hashes may wrap across lines
    assert "Decision pack: February 2021 SEC Release" in text
    assert "RID version" in text and "0.1" in text
    assert "OAT exit report.pdf" in text and "123,456 bytes" in text
    assert SHA_REPORT in flat
    assert users["dcc"].name in text
    assert "Please add the PIT exit report." in text
    assert "Partially met" in text and "Evidence complete" in text
    assert "Implement subject to conditions" in text and "Monitor the first week of metrics" in text
    assert "Decision, round 1: Go" in text and "Go as planned." in text
    assert "Waived by the Panel" in text and "Monitored under the OMR anyway." in text
    assert "and RID version 0.1" in text
    assert "casting vote" in text
    assert "I cast my ballot" in text and "The Panel decides" in text
    with client.app.app_context():
        assert chain_head().hash in flat
        digest = db.session.scalar(sa.select(Decision)).signature.digest
    assert digest in flat


def test_a_sealed_vote_shows_who_voted_not_how(client, users, make_release):
    make_release(Stage.PANEL_VOTE)
    code = _build_record(client.app, users, vote_state=VoteState.OPEN)
    client.login(users["dcc"])
    vote = client.get(f"/releases/{code}/pack.json").get_json()["votes"][0]
    assert vote["ballots_sealed"] is True and vote["tally"] is None
    assert all("choice" not in b and "signature" not in b for b in vote["ballots"])
    text = PdfReader(io.BytesIO(client.get(f"/releases/{code}/pack.pdf").data)).pages
    assert "Ready" not in "".join(p.extract_text() for p in text)


def test_anonymous_and_unknown_release(client, users, record):
    assert client.get(f"/releases/{record}/pack.json").status_code == 302
    assert client.get(f"/releases/{record}/pack.pdf").status_code == 302
    client.login(users["dcc"])
    assert client.get("/releases/no-such/pack.json").status_code == 404
    assert client.get("/releases/no-such/pack.pdf").status_code == 404


def test_a_draft_release_exports_too(client, users, make_release):
    release = make_release()
    client.login(users["dcc"])
    pack = client.get(f"/releases/{release.code}/pack.json").get_json()
    assert pack["votes"] == [] and pack["decisions"] == [] and len(pack["criteria"]) == 10
    assert client.get(f"/releases/{release.code}/pack.pdf").status_code == 200


def _without_ids(value):
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "id" and not k.endswith("_id")}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


# What describes the export itself, not the release's record.
_EXPORT_ONLY = ("exported_at", "audit_chain", "audit_trail")


def test_json_round_trip_into_a_fresh_portal(client, users, record, tmp_path):
    client.login(users["opsg"])
    original = client.get(f"/releases/{record}/pack.json").get_json()
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(original), encoding="utf-8")
    app = client.app
    with app.app_context():  # a fresh portal in the same database, whose ids will differ from the source's
        db.session.remove()
        db.drop_all()
        db.create_all()
        for n in range(3):
            db.session.add(User(email=f"earlier{n}@example.org", name=f"Earlier {n}", organisation="DCC",
                                role=Role.DCC, password_hash="x"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["portal", "import-pack", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported February 2021 SEC Release" in result.output
    with app.app_context():
        release = db.session.scalar(sa.select(Release).where(Release.code == record))
        again = build_pack(release)
        imported = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "release.imported"))
        assert imported.details["after"]["source_chain_head"] == original["audit_chain"]["head_hash"]
        people = db.session.scalars(sa.select(User).where(~User.email.startswith("earlier"))).all()
        assert all(not p.active for p in people)  # accounts arrive closed
        signatures = db.session.scalars(sa.select(Signature)).all()
        assert len(signatures) >= 5 and all(verify_signature(s) for s in signatures)
        assert any(s.origin_signer_id != s.signer_id for s in signatures)  # ids differ here, yet they verify
    strip = lambda pack: _without_ids({k: v for k, v in pack.items() if k not in _EXPORT_ONLY})  # noqa: E731
    assert strip(again) == strip(original)
    # Importing the same pack twice is refused; nothing changes.
    result = app.test_cli_runner().invoke(args=["portal", "import-pack", str(path)])
    assert result.exit_code != 0 and "already holds" in result.output


def test_import_refuses_what_is_not_a_pack(app, tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"hello": "world"}))
    result = app.test_cli_runner().invoke(args=["portal", "import-pack", str(path)])
    assert result.exit_code != 0 and "not a decision pack" in result.output
    path.write_text("{not json")
    result = app.test_cli_runner().invoke(args=["portal", "import-pack", str(path)])
    assert result.exit_code != 0 and "not JSON" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Release)) == 0
