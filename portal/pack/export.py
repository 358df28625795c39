"""Build the decision pack: one plain-data record of a release that the PDF renders and the JSON carries.

People are referred to by email (stable between portals); times are UTC ISO 8601; database ids are left out,
so a pack re-exported after import into another portal compares equal to the original.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ..audit.models import AuditEvent
from ..audit.services import chain_status, latest_checkpoint
from ..auth.models import User
from ..criteria.models import Assessment, EvidenceRequest
from ..decisions.models import (Ballot, Choice, Condition, Decision, GoLiveConfirmation, ReassessmentMark, Recommendation, Vote,
                                VoteState)
from ..decisions.services import count_vote
from ..criteria.evidence_models import EvidenceFile, EvidenceStatement, EvidenceSubmission
from ..extensions import db
from ..notices.models import Notice
from ..releases.models import (DocumentImpact, ParticipantGroup, ParticipantImpact, Release, SecDocument)
from ..signatures import Signature
from ..timeutil import as_utc, utcnow

FORMAT = "sec-release-portal/decision-pack"
FORMAT_VERSION = 1


def _t(value: dt.datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def _d(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


class _People:
    """Collects everyone the pack mentions, so the import can recreate their accounts."""

    def __init__(self):
        self.by_id: dict[int, User] = {}

    def __call__(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self.by_id:
            self.by_id[user_id] = db.session.get(User, user_id)
        return self.by_id[user_id].email

    def export(self) -> list[dict[str, Any]]:
        return sorted(({"email": u.email, "name": u.name, "organisation": u.organisation, "role": str(u.role),
                        "is_chair": u.is_chair} for u in self.by_id.values()), key=lambda p: p["email"])


def _signature(signature: Signature | None, person: _People) -> dict[str, Any] | None:
    if signature is None:
        return None
    # signer_id is the id the digest covers: where the signature was made, also for one imported earlier.
    origin = signature.signer_id if signature.origin_signer_id is None else signature.origin_signer_id
    return {"signer": person(signature.signer_id), "signer_id": origin, "name": signature.signer_name,
            "role": signature.signer_role,
            "signed_at": _t(signature.signed_at), "meaning": signature.meaning, "digest": signature.digest,
            "content": signature.content}


def _all(model, *where, order=None):
    return db.session.scalars(sa.select(model).where(*where).order_by(*(order or [model.id]))).all()


def rid_summary(release: Release) -> dict[str, Any]:
    """The RID as data, referring to MPs, groups and documents by name rather than by id."""
    mps = {e.mp_id: e.mp.reference for e in release.scope}
    groups = dict(db.session.execute(sa.select(ParticipantGroup.id, ParticipantGroup.name)).all())
    documents = dict(db.session.execute(sa.select(SecDocument.id, SecDocument.name)).all())
    return {
        "about": release.about,
        "notes": {k: getattr(release, k) for k in (
            "approved_mps_note", "targeted_mps_note", "change_requests_note", "document_impacts_note",
            "other_codes_note", "test_strategy_note", "user_testing_note", "dcc_costs_note", "secas_costs_note")},
        "scope": [{"mp": e.mp.reference, "title": e.mp.title, "url": e.mp.url, "status": str(e.status),
                   "cutoff_date": _d(e.cutoff_date), "summary": e.summary,
                   "moved_to": e.moved_to.code if e.moved_to else None} for e in release.scope],
        "change_requests": [{"reference": c.reference, "title": c.title} for c in release.change_requests],
        "participant_groups": [g.name for g in _all(ParticipantGroup, order=[ParticipantGroup.position,
                                                                             ParticipantGroup.id])],
        "participant_impacts": sorted([mps[p.mp_id], groups[p.group_id]] for p in _all(
            ParticipantImpact, ParticipantImpact.release_id == release.id) if p.mp_id in mps),
        "impact_summaries": [{"kind": s.kind, "subject": s.subject, "text": s.text} for s in release.impact_summaries],
        "sec_documents": [{"name": d.name, "title": d.title} for d in _all(SecDocument, order=[SecDocument.position,
                                                                                              SecDocument.id])],
        "document_impacts": sorted([mps[d.mp_id], documents[d.document_id]] for d in _all(
            DocumentImpact, DocumentImpact.release_id == release.id) if d.mp_id in mps),
        "other_code_impacts": [{"code": o.code, "description": o.description} for o in release.other_code_impacts],
        "milestones": [{"kind": str(m.kind), "due_on": _d(m.due_on), "event": m.event, "notes": m.notes,
                        "acting_role": str(m.acting_role)} for m in release.milestones],
        "test_phases": [{"phase": t.phase, "name": t.name, "applies": t.applies, "reason": t.reason}
                        for t in release.test_phases],
        "cost_items": [{"party": c.party, "description": c.description, "amount_pence": c.amount_pence,
                        "already_budgeted": c.already_budgeted, "qualifier": c.qualifier} for c in release.cost_items],
        "glossary": [{"acronym": g.acronym, "term": g.term} for g in release.glossary],
    }


def build_pack(release: Release) -> dict[str, Any]:
    """The whole record of `release`, as it stands now."""
    person = _People()
    chain = chain_status()
    criteria_numbers = {c.id: c.number for c in release.criteria}
    request_keys: dict[int, list[int]] = {}  # request id -> [criterion number, position], to link answers
    criteria = []
    for criterion in release.criteria:
        requests = _all(EvidenceRequest, EvidenceRequest.criterion_id == criterion.id)
        for position, request in enumerate(requests):
            request_keys[request.id] = [criterion.number, position]
        files = _all(EvidenceFile, EvidenceFile.criterion_id == criterion.id)
        file_positions = {f.id: n for n, f in enumerate(files)}
        statement = db.session.scalar(sa.select(EvidenceStatement).where(EvidenceStatement.criterion_id == criterion.id))
        criteria.append({
            "number": criterion.number, "text": criterion.text, "owner_role": str(criterion.owner_role),
            "evidence": [{
                "name": f.original_name, "size": f.size, "sha256": f.sha256, "content_type": f.content_type,
                "type_label": f.type_label, "description": f.description, "uploaded_by": person(f.uploaded_by_id),
                "uploaded_at": _t(f.uploaded_at), "withdrawn_at": _t(f.withdrawn_at),
                "withdrawn_by": person(f.withdrawn_by_id), "withdraw_reason": f.withdraw_reason,
                "replaces": file_positions.get(f.replaces_id),
                "answers_request": request_keys.get(f.answers_request_id)} for f in files],
            "statement": {"text": statement.text, "written_by": person(statement.written_by_id),
                          "written_at": _t(statement.written_at)} if statement else None,
            "assessments": [{
                "status": str(a.status), "kind": str(a.kind), "rationale": a.rationale, "review_round": a.review_round,
                "is_current_final": a.is_current_final, "assessed_by": person(a.assessed_by_id),
                "assessed_at": _t(a.assessed_at), "signature": _signature(a.signature, person)}
                for a in _all(Assessment, Assessment.criterion_id == criterion.id)],
            "requests": [{
                "state": str(r.state), "question": r.question, "due_on": _d(r.due_on), "asked_by": person(r.asked_by_id),
                "asked_at": _t(r.asked_at), "answer": r.answer, "answered_by": person(r.answered_by_id),
                "answered_at": _t(r.answered_at), "closed_by": person(r.closed_by_id), "closed_at": _t(r.closed_at)}
                for r in requests],
        })
    votes = _all(Vote, Vote.release_id == release.id, order=[Vote.round])
    decisions = _all(Decision, Decision.release_id == release.id, order=[Decision.round])
    decision_rounds = {d.id: d.round for d in decisions}
    conditions: dict[int, list[Condition]] = {}
    for c in _all(Condition, Condition.release_id == release.id, order=[Condition.recommendation_id, Condition.number]):
        conditions.setdefault(c.recommendation_id, []).append(c)
    pack = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": _t(utcnow()),
        # The signed checkpoint lets `flask audit verify --pack` find a database cut short since the export.
        "audit_chain": {"verified": chain.ok, "events": chain.checked, "head_hash": chain.head_hash,
                        "first_broken_id": chain.first_broken_id, "checkpoint": latest_checkpoint()},
        "release": {"code": release.code, "name": release.name, "stage": str(release.stage),
                    "planned_go_live": _d(release.planned_go_live), "sec_version": release.sec_version,
                    "created_at": _t(release.created_at)},
        "rid": {
            "current_version": release.current_rid.number if release.current_rid else None,
            "summary": rid_summary(release),
            "versions": [{"major": v.major, "minor": v.minor, "issued_on": _d(v.issued_on),
                          "change_note": v.change_note, "is_baseline": v.is_baseline,
                          "panel_meeting_on": _d(v.panel_meeting_on), "panel_minute_ref": v.panel_minute_ref,
                          "created_by": person(v.created_by_id), "created_at": _t(v.created_at),
                          "snapshot": v.snapshot} for v in release.rid_versions],
        },
        "criteria": criteria,
        "submissions": [{"role": str(s.role), "review_round": s.review_round, "submitted_by": person(s.submitted_by_id),
                         "submitted_at": _t(s.submitted_at), "due_on": _d(s.due_on)}
                        for s in _all(EvidenceSubmission, EvidenceSubmission.release_id == release.id)],
        "recommendations": [{
            "round": r.round, "kind": str(r.kind), "conditions": r.conditions, "reasons": r.reasons,
            "is_current": r.is_current, "recorded_by": person(r.recorded_by_id), "recorded_at": _t(r.recorded_at),
            "signature": _signature(r.signature, person),
            "tracked_conditions": [_condition(c, person) for c in conditions.get(r.id, [])]}
            for r in _all(Recommendation, Recommendation.release_id == release.id)],
        "votes": [_vote(v, person) for v in votes],
        "decisions": [{
            "round": d.round, "outcome": str(d.outcome), "reasons": d.reasons, "planned_go_live": _d(d.planned_go_live),
            "rid_version": d.rid_version.number if d.rid_version else None,
            "recorded_by": person(d.recorded_by_id), "recorded_at": _t(d.recorded_at),
            "signature": _signature(d.signature, person)} for d in decisions],
        "go_live_confirmations": [{
            "decision_round": decision_rounds[c.decision_id], "kind": str(c.kind), "sec_version": c.sec_version,
            "note": c.note, "confirmed_by": person(c.confirmed_by_id), "confirmed_at": _t(c.confirmed_at),
            "signature": _signature(c.signature, person)}
            for c in _all(GoLiveConfirmation, GoLiveConfirmation.release_id == release.id)],
        "notice": _notice(release.notice, person),
        "reassessment_marks": [{
            "decision_round": decision_rounds[m.decision_id], "criterion": criteria_numbers[m.criterion_id],
            "marked_by": person(m.marked_by_id), "marked_at": _t(m.marked_at)}
            for m in _all(ReassessmentMark, ReassessmentMark.release_id == release.id)],
        "audit_trail": [{
            "id": e.id, "occurred_at": _t(e.occurred_at), "actor": e.actor_name, "role": e.actor_role,
            "action": e.action, "summary": e.summary, "hash": e.hash}
            for e in _all(AuditEvent, AuditEvent.release_id == release.id)],
    }
    pack["people"] = person.export()
    return pack


def _notice(notice: Notice | None, person) -> dict[str, Any] | None:
    """The go-live notice, draft or published, with its lists as drafted."""
    if notice is None:
        return None
    return {"state": str(notice.state), "title": notice.title, "summary": notice.summary,
            "sec_version": notice.sec_version, "effective_on": _d(notice.effective_on),
            "modifications": notice.modifications, "documents": notice.documents, "drafted_at": _t(notice.drafted_at),
            "published_at": _t(notice.published_at), "published_by": person(notice.published_by_id)}


def _condition(c: Condition, person) -> dict[str, Any]:
    return {"number": c.number, "text": c.text, "owner": str(c.owner_role), "state": str(c.state),
            "met_statement": c.met_statement, "met_by": person(c.met_by_id), "met_at": _t(c.met_at),
            "file_name": c.file_name, "file_sha256": c.file_sha256, "file_size": c.file_size,
            "file_type": c.file_type, "settled_by": person(c.settled_by_id), "settled_at": _t(c.settled_at),
            "waive_reason": c.waive_reason}


def _tally(vote: Vote) -> dict[str, Any]:
    tally = count_vote(vote)
    return {"go": tally.counts[Choice.GO], "no_go": tally.counts[Choice.NO_GO],
            "abstain": tally.counts[Choice.ABSTAIN], "eligible": len(tally.eligible),
            "quorum_needed": tally.quorum_needed, "has_quorum": tally.has_quorum,
            "outcome": str(tally.outcome) if tally.outcome else None}


def _vote(vote: Vote, person: _People) -> dict[str, Any]:
    # While a vote is open nobody may see how members voted: the pack then lists who voted, not how.
    sealed = vote.state == VoteState.OPEN
    return {
        "round": vote.round, "state": str(vote.state), "chair": person(vote.chair_id), "opened_at": _t(vote.opened_at),
        "closes_at": _t(vote.closes_at), "closed_at": _t(vote.closed_at), "closed_by": person(vote.closed_by_id),
        "outcome": str(vote.outcome) if vote.outcome else None,
        "rules": {"quorum": "more than half of the eligible members cast a ballot",
                  "abstentions_count_to_quorum": vote.abstentions_count_to_quorum,
                  "go_needs": "more Go than No-go ballots",
                  "chair_has_casting_vote": vote.chair_has_casting_vote,
                  "tie_without_casting_vote": "No-go"},
        "members": [{"member": person(m.member_id), "alternate": person(m.alternate_id),
                     "conflict_note": m.conflict_note, "conflict_declared_at": _t(m.conflict_declared_at)}
                    for m in vote.members],
        "ballots_sealed": sealed,
        "tally": None if sealed else _tally(vote),
        "ballots": [{
            "member": person(b.member_id), "cast_by": person(b.cast_by_id), "is_current": b.is_current,
            "cast_at": _t(b.cast_at),
            **({} if sealed else {"choice": str(b.choice), "comment": b.comment,
                                  "signature": _signature(b.signature, person)})}
            for b in _all(Ballot, Ballot.vote_id == vote.id)],
    }
