"""Importing a decision pack (its JSON) into a portal that does not hold the release, to reproduce its record."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa

from ..access import Conflict, Invalid, Role
from ..audit.services import record_event
from ..auth.models import User
from ..auth.services import hash_password
from ..criteria.models import Assessment, AssessmentKind, AssessmentStatus, EvidenceRequest, RequestState
from ..decisions.models import (Ballot, Choice, Condition, ConditionState, ConfirmationKind, Decision, GoLiveConfirmation, Outcome,
                                ReassessmentMark, Recommendation, RecommendationKind, Vote, VoteMember, VoteState)
from ..criteria.evidence_models import EvidenceFile, EvidenceStatement, EvidenceSubmission
from ..database import get_or_create
from ..extensions import db
from ..notices.models import Notice, NoticeState
from ..releases.models import (ChangeRequest, CostItem, Criterion, DocumentImpact, GlossaryTerm, ImpactSummary,
                               Milestone, MilestoneKind, ModificationProposal, OtherCodeImpact, ParticipantGroup,
                               ParticipantImpact, Release, RidVersion, ScopeEntry, ScopeStatus, SecDocument, Stage,
                               TestPhase)
from ..signatures import Signature
from .export import FORMAT, FORMAT_VERSION


def _t(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _d(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


class _Importer:
    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.people: dict[str, int] = {}
        self.release: Release | None = None
        self.skipped: list[str] = []

    def person(self, email: str | None) -> int | None:
        return self.people[email] if email else None

    def signature(self, sig: dict | None) -> int | None:
        if not sig:
            return None
        # The digest is kept as signed: it is the evidence. Ids differ in this portal, so the signer's id where it
        # was signed is kept too, and the digest still verifies (signatures.verify_signature).
        row = Signature(signer_id=self.person(sig["signer"]), signer_name=sig["name"], signer_role=sig["role"],
                        signed_at=_t(sig["signed_at"]), meaning=sig["meaning"], digest=sig["digest"],
                        content=sig["content"], origin_signer_id=sig.get("signer_id"))
        db.session.add(row)
        db.session.flush()
        return row.id

    def add(self, row):
        db.session.add(row)
        db.session.flush()
        return row

    def load_people(self) -> None:
        for p in self.data["people"]:
            user = db.session.scalar(sa.select(User).where(User.email == p["email"]))
            if user is None:
                # Accounts arrive closed, with an unknown password: an admin opens the ones that need to sign in.
                user = self.add(User(email=p["email"], name=p["name"], organisation=p["organisation"],
                                     role=Role(p["role"]), is_chair=p["is_chair"], active=False,
                                     password_hash=hash_password(secrets.token_urlsafe(24)),
                                     must_change_password=True))
            self.people[p["email"]] = user.id

    def load_release(self) -> None:
        r, rid = self.data["release"], self.data["rid"]["summary"]
        release = self.add(Release(code=r["code"], name=r["name"], stage=Stage(r["stage"]),
                                   planned_go_live=_d(r["planned_go_live"]), sec_version=r["sec_version"],
                                   about=rid["about"], created_at=_t(r["created_at"]), **rid["notes"]))
        self.release = release
        rel = {"release_id": release.id}
        mps = {}
        for n, s in enumerate(rid["scope"]):
            mp = get_or_create(ModificationProposal, {"reference": s["mp"]}, title=s["title"], url=s["url"])
            mps[s["mp"]] = mp.id
            moved_to = db.session.scalar(sa.select(Release.id).where(Release.code == s["moved_to"])) \
                if s["moved_to"] else None
            if s["moved_to"] and moved_to is None:
                self.skipped.append(f"{s['mp']} was moved to {s['moved_to']}, which this portal does not hold")
            self.add(ScopeEntry(**rel, mp_id=mp.id, status=ScopeStatus(s["status"]), cutoff_date=_d(s["cutoff_date"]),
                                summary=s["summary"], moved_to_id=moved_to, position=n))
        groups = {name: get_or_create(ParticipantGroup, {"name": name}, position=n).id
                  for n, name in enumerate(rid["participant_groups"])}
        documents = {d["name"]: get_or_create(SecDocument, {"name": d["name"]}, title=d["title"], position=n).id
                     for n, d in enumerate(rid["sec_documents"])}
        for mp, group in rid["participant_impacts"]:
            db.session.add(ParticipantImpact(**rel, mp_id=mps[mp], group_id=groups[group]))
        for mp, document in rid["document_impacts"]:
            db.session.add(DocumentImpact(**rel, mp_id=mps[mp], document_id=documents[document]))
        for n, c in enumerate(rid["change_requests"]):
            db.session.add(ChangeRequest(**rel, position=n, **c))
        for n, s in enumerate(rid["impact_summaries"]):
            db.session.add(ImpactSummary(**rel, position=n, **s))
        for n, o in enumerate(rid["other_code_impacts"]):
            db.session.add(OtherCodeImpact(**rel, position=n, **o))
        for n, m in enumerate(rid["milestones"]):
            db.session.add(Milestone(**rel, position=n, kind=MilestoneKind(m["kind"]), due_on=_d(m["due_on"]),
                                     event=m["event"], notes=m["notes"], acting_role=Role(m["acting_role"])))
        for n, t in enumerate(rid["test_phases"]):
            db.session.add(TestPhase(**rel, position=n, **t))
        for n, c in enumerate(rid["cost_items"]):
            db.session.add(CostItem(**rel, position=n, **c))
        for n, g in enumerate(rid["glossary"]):
            db.session.add(GlossaryTerm(**rel, position=n, **g))
        for v in self.data["rid"]["versions"]:
            db.session.add(RidVersion(**rel, major=v["major"], minor=v["minor"], issued_on=_d(v["issued_on"]),
                                      change_note=v["change_note"], is_baseline=v["is_baseline"],
                                      panel_meeting_on=_d(v.get("panel_meeting_on")),
                                      panel_minute_ref=v.get("panel_minute_ref"), snapshot=v["snapshot"], created_by_id=self.person(v["created_by"]),
                                      created_at=_t(v["created_at"])))
        db.session.flush()

    def load_criteria(self) -> dict[int, int]:
        rel = {"release_id": self.release.id}
        numbers = {}
        for c in self.data["criteria"]:
            criterion = self.add(Criterion(**rel, number=c["number"], text=c["text"], owner_role=Role(c["owner_role"])))
            numbers[c["number"]] = criterion.id
            requests = [self.add(EvidenceRequest(
                **rel, criterion_id=criterion.id, state=RequestState(q["state"]), question=q["question"],
                due_on=_d(q["due_on"]), asked_by_id=self.person(q["asked_by"]), asked_at=_t(q["asked_at"]),
                answer=q["answer"], answered_by_id=self.person(q["answered_by"]), answered_at=_t(q["answered_at"]),
                closed_by_id=self.person(q["closed_by"]), closed_at=_t(q["closed_at"]))) for q in c["requests"]]
            files = []
            for f in c["evidence"]:
                answers = f["answers_request"]
                files.append(self.add(EvidenceFile(
                    **rel, criterion_id=criterion.id, sha256=f["sha256"], size=f["size"],
                    content_type=f["content_type"], type_label=f["type_label"], original_name=f["name"],
                    description=f["description"], uploaded_by_id=self.person(f["uploaded_by"]),
                    uploaded_at=_t(f["uploaded_at"]), withdrawn_at=_t(f["withdrawn_at"]),
                    withdrawn_by_id=self.person(f["withdrawn_by"]), withdraw_reason=f["withdraw_reason"],
                    answers_request_id=requests[answers[1]].id if answers else None)))
            for row, f in zip(files, c["evidence"]):
                if f["replaces"] is not None:
                    row.replaces_id = files[f["replaces"]].id
            if c["statement"]:
                s = c["statement"]
                db.session.add(EvidenceStatement(criterion_id=criterion.id, text=s["text"],
                                                 written_by_id=self.person(s["written_by"]),
                                                 written_at=_t(s["written_at"])))
            for a in c["assessments"]:
                db.session.add(Assessment(
                    **rel, criterion_id=criterion.id, status=AssessmentStatus(a["status"]),
                    kind=AssessmentKind(a["kind"]), rationale=a["rationale"], review_round=a["review_round"],
                    is_current_final=a["is_current_final"], assessed_by_id=self.person(a["assessed_by"]),
                    assessed_at=_t(a["assessed_at"]), signature_id=self.signature(a["signature"])))
            db.session.flush()
        return numbers

    def load_decisions(self, criteria: dict[int, int]) -> None:
        rel = {"release_id": self.release.id}
        for s in self.data["submissions"]:
            db.session.add(EvidenceSubmission(**rel, role=Role(s["role"]), review_round=s["review_round"],
                                              submitted_by_id=self.person(s["submitted_by"]),
                                              submitted_at=_t(s["submitted_at"]), due_on=_d(s["due_on"])))
        for r in self.data["recommendations"]:
            recommendation = self.add(Recommendation(
                **rel, round=r["round"], kind=RecommendationKind(r["kind"]), conditions=r["conditions"],
                reasons=r["reasons"], is_current=r["is_current"], recorded_by_id=self.person(r["recorded_by"]),
                recorded_at=_t(r["recorded_at"]), signature_id=self.signature(r["signature"])))
            for c in r.get("tracked_conditions", []):
                db.session.add(Condition(
                    **rel, recommendation_id=recommendation.id, number=c["number"], text=c["text"],
                    owner_role=Role(c["owner"]), state=ConditionState(c["state"]), met_statement=c["met_statement"],
                    met_by_id=self.person(c["met_by"]), met_at=_t(c["met_at"]), file_name=c["file_name"],
                    file_sha256=c["file_sha256"], file_size=c["file_size"], file_type=c["file_type"],
                    settled_by_id=self.person(c["settled_by"]), settled_at=_t(c["settled_at"]),
                    waive_reason=c["waive_reason"]))
        rid_versions = {f"{major}.{minor}": id_ for major, minor, id_ in db.session.execute(
            sa.select(RidVersion.major, RidVersion.minor, RidVersion.id).where(RidVersion.release_id == self.release.id))}
        votes = {}
        for v in self.data["votes"]:
            vote = self.add(Vote(
                **rel, round=v["round"], state=VoteState(v["state"]), chair_id=self.person(v["chair"]),
                opened_at=_t(v["opened_at"]), closes_at=_t(v["closes_at"]), closed_at=_t(v["closed_at"]),
                closed_by_id=self.person(v["closed_by"]), outcome=Outcome(v["outcome"]) if v["outcome"] else None,
                abstentions_count_to_quorum=v["rules"]["abstentions_count_to_quorum"],
                chair_has_casting_vote=v["rules"]["chair_has_casting_vote"]))
            votes[v["round"]] = vote.id
            for m in v["members"]:
                db.session.add(VoteMember(vote_id=vote.id, member_id=self.person(m["member"]),
                                          alternate_id=self.person(m["alternate"]), conflict_note=m["conflict_note"],
                                          conflict_declared_at=_t(m["conflict_declared_at"])))
            for b in v["ballots"]:
                if "choice" not in b:
                    self.skipped.append(f"a sealed ballot of round {v['round']} (the vote was open at export)")
                    continue
                db.session.add(Ballot(vote_id=vote.id, member_id=self.person(b["member"]),
                                      cast_by_id=self.person(b["cast_by"]), choice=Choice(b["choice"]),
                                      comment=b["comment"], is_current=b["is_current"], cast_at=_t(b["cast_at"]),
                                      signature_id=self.signature(b["signature"])))
            db.session.flush()
        decisions = {}
        for d in self.data["decisions"]:
            decisions[d["round"]] = self.add(Decision(
                **rel, round=d["round"], vote_id=votes[d["round"]], outcome=Outcome(d["outcome"]),
                reasons=d["reasons"], planned_go_live=_d(d["planned_go_live"]),
                rid_version_id=rid_versions.get(d.get("rid_version")),
                recorded_by_id=self.person(d["recorded_by"]), recorded_at=_t(d["recorded_at"]),
                signature_id=self.signature(d["signature"]))).id
        for c in self.data["go_live_confirmations"]:
            db.session.add(GoLiveConfirmation(
                **rel, decision_id=decisions[c["decision_round"]], kind=ConfirmationKind(c["kind"]),
                sec_version=c["sec_version"], note=c["note"], confirmed_by_id=self.person(c["confirmed_by"]),
                confirmed_at=_t(c["confirmed_at"]), signature_id=self.signature(c["signature"])))
        for m in self.data["reassessment_marks"]:
            db.session.add(ReassessmentMark(**rel, decision_id=decisions[m["decision_round"]],
                                            criterion_id=criteria[m["criterion"]],
                                            marked_by_id=self.person(m["marked_by"]), marked_at=_t(m["marked_at"])))
        if notice := self.data.get("notice"):  # packs exported before notices have none
            db.session.add(Notice(
                **rel, state=NoticeState(notice["state"]), title=notice["title"], summary=notice["summary"],
                sec_version=notice["sec_version"], effective_on=_d(notice["effective_on"]),
                modifications=notice["modifications"], documents=notice["documents"],
                drafted_at=_t(notice["drafted_at"]), published_at=_t(notice["published_at"]),
                published_by_id=self.person(notice["published_by"])))
        db.session.flush()


def import_pack(actor, data: dict[str, Any]) -> tuple[Release, list[str]]:
    """Recreate a release's record from its decision pack; returns it and what could not be carried over."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise Invalid("This file is not a decision pack exported by the SEC Release Portal.")
    if data.get("format_version") != FORMAT_VERSION:
        raise Invalid(f"This pack is format version {data.get('format_version')}; this portal reads version "
                      f"{FORMAT_VERSION}.")
    code = data["release"]["code"]
    if db.session.scalar(sa.select(Release.id).where(Release.code == code)):
        raise Conflict(f"This portal already holds the release {code}: a pack is imported only where it is absent.")
    try:
        importer = _Importer(data)
        importer.load_people()
        importer.load_release()
        importer.load_decisions(importer.load_criteria())
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise Invalid(f"The decision pack is incomplete or damaged ({type(err).__name__}: {err}).") from None
    chain = data["audit_chain"]
    record_event(actor, "release.imported", f"{importer.release.name} imported from its decision pack",
                 obj=importer.release, release=importer.release,
                 after={"exported_at": data["exported_at"], "source_chain_head": chain["head_hash"],
                        "source_chain_verified": chain["verified"], "source_events": len(data["audit_trail"]),
                        "not_carried_over": importer.skipped})
    return importer.release, importer.skipped
