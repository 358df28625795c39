"""Assessments and evidence requests (OpsG); the readiness grid. The only code that changes them."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..access import Invalid
from ..audit.services import record_event
from ..database import insert_once, locked, update_once
from ..decisions.models import ReassessmentMark
from . import evidence_services
from .evidence_models import EvidenceFile, EvidenceStatement
from ..extensions import db
from ..notifications import messages
from ..queries import ReleaseFacts
from ..releases.models import Criterion, Release, Stage
from ..signatures import WrongPassword, check_signer, sign
from ..timeutil import today, utcnow
from ..workflow import require
from .models import Assessment, AssessmentKind, AssessmentStatus, EvidenceRequest, RequestState

MAX_TEXT = 10000


# --- Reading -------------------------------------------------------------------------------------------

def assessments_of(criterion: Criterion) -> list[Assessment]:
    """Newest first."""
    return list(db.session.scalars(sa.select(Assessment).where(Assessment.criterion_id == criterion.id)
                                   .order_by(Assessment.id.desc())))


def standing_assessment(assessments: list[Assessment]) -> Assessment | None:
    """Of one criterion's assessments (newest first), the one that stands: the current final, else the latest."""
    return next((a for a in assessments if a.is_current_final), assessments[0] if assessments else None)


def latest_assessments(release: Release) -> dict[int, Assessment]:
    """criterion id -> the assessment that stands: its current final one, else its latest (a preliminary
    assessment never stands over a final one)."""
    standing_ids = (sa.select(sa.func.coalesce(sa.func.max(sa.case((Assessment.is_current_final, Assessment.id))),
                                               sa.func.max(Assessment.id)))
                    .where(Assessment.release_id == release.id).group_by(Assessment.criterion_id))
    rows = db.session.scalars(sa.select(Assessment).where(Assessment.id.in_(standing_ids)))
    return {a.criterion_id: a for a in rows}


# Aliases are built once: an alias builds its column collection on first use, which cost more than the rest of
# the readiness grid's work when done on every request.
_RECORDS = tuple(so.aliased(model) for model in
                 (EvidenceFile, EvidenceStatement, Assessment, EvidenceRequest, ReassessmentMark))


def has_records():
    """True for a criterion with any record against it (evidence, a statement, an assessment, a request, a
    re-assessment mark), correlated to Criterion.id: such a criterion is withdrawn, never removed."""
    return sa.or_(*(sa.exists().where(record.criterion_id == Criterion.id) for record in _RECORDS))


def _grid_statement() -> sa.Select:
    other = so.aliased(Assessment)
    standing = (sa.select(sa.func.coalesce(sa.func.max(sa.case((other.is_current_final, other.id))),
                                           sa.func.max(other.id)))
                .where(other.criterion_id == Criterion.id).scalar_subquery())
    files = (sa.select(sa.func.count()).select_from(EvidenceFile)
             .where(EvidenceFile.criterion_id == Criterion.id, EvidenceFile.round == sa.bindparam("round"),
                    EvidenceFile.withdrawn_at.is_(None)).scalar_subquery())
    return (sa.select(Criterion.id, files, Assessment, has_records())
            .outerjoin(Assessment, Assessment.id == standing)
            .where(Criterion.release_id == sa.bindparam("release_id")))


# Built once (the readiness grid is on every release and criterion page); each use binds the release and round.
_GRID = _grid_statement()


def grid_rows(release: Release) -> dict[int, tuple[int, Assessment | None, bool]]:
    """criterion id -> (its files in the current round, not withdrawn; the assessment that stands; whether it has
    any record), in one query."""
    rows = db.session.execute(_GRID, {"release_id": release.id, "round": release.round})
    return {criterion_id: (count, assessment, answered) for criterion_id, count, assessment, answered in rows}


@dataclass(frozen=True)
class Check:
    label: str
    done: bool


def owner_checklist(facts: ReleaseFacts, criterion: Criterion, user) -> list[Check]:
    """What the criterion's owner still has to do for this round, while its evidence is gathered (empty for
    anyone else, or once OpsG's final assessment has locked the criterion)."""
    if user.role != criterion.owner_role or facts.stage not in (Stage.EVIDENCE, Stage.OPSG_REVIEW) \
            or not facts.is_open(criterion):
        return []
    checks = [Check("Add a file or write a statement", criterion.id in facts.with_evidence)]
    request = facts.requests.get(criterion.id)
    if request is not None:
        checks.append(Check("Answer OpsG's evidence request", request.state != RequestState.OPEN))
    checks.append(Check(f"Submit {criterion.owner_role.label}'s evidence for round {facts.round}",
                        criterion.owner_role in facts.submitted))
    return checks


def requests_of(criterion: Criterion) -> list[EvidenceRequest]:
    return list(db.session.scalars(sa.select(EvidenceRequest).where(EvidenceRequest.criterion_id == criterion.id)
                                   .order_by(EvidenceRequest.id)))


def answer_files(request: EvidenceRequest) -> list[EvidenceFile]:
    return list(db.session.scalars(sa.select(EvidenceFile).where(EvidenceFile.answers_request_id == request.id)
                                   .order_by(EvidenceFile.id)))


@dataclass(frozen=True)
class GridCell:
    number: int
    title: str
    owner: str
    evidence: int  # the current round's files not withdrawn
    status: AssessmentStatus | None
    kind: AssessmentKind | None
    url: str

    @property
    def label(self) -> str:
        return self.status.label if self.status else "Not assessed"

    @property
    def css(self) -> str:
        return f"portal-grid__cell--{self.status.value}" if self.status else ""


@dataclass(frozen=True)
class Grid:
    release: Release
    cells: list[GridCell]
    counts: list[tuple[str, int]]
    answered: frozenset[int]  # the criteria with any record, withdrawn or not: never removed


def readiness_grid(release: Release) -> Grid:
    """One cell per criterion with its latest status, and the count per status."""
    rows = grid_rows(release)
    cells = []
    for criterion in release.active_criteria:
        files, assessment, _ = rows.get(criterion.id, (0, None, False))
        cells.append(GridCell(criterion.number, criterion.short_title, criterion.owner_role.label,
                              files, assessment.status if assessment else None,
                              assessment.kind if assessment else None, evidence_services.criterion_path(criterion)))
    tally = Counter(cell.label for cell in cells)
    order = [s.label for s in AssessmentStatus] + ["Not assessed"]
    return Grid(release, cells, [(label, tally[label]) for label in order],
                frozenset(criterion_id for criterion_id, (_, _, answered) in rows.items() if answered))


# --- Assessments ---------------------------------------------------------------------------------------

def _check_text(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(f"Enter {what}.")
    if len(value) > MAX_TEXT:
        raise Invalid(f"{what[0].upper() + what[1:]} must be {MAX_TEXT} characters or fewer.")
    return value


ASSESS_ACTIONS = {AssessmentKind.PRELIMINARY: "assess_preliminary", AssessmentKind.FINAL: "assess_final"}


def assess_criterion(actor, criterion: Criterion, status: AssessmentStatus, rationale: str,
                     kind: AssessmentKind, password: str = "", revision_reason: str = "") -> Assessment:
    """Record an OpsG assessment; a final one is signed with the assessor's password. A final assessment that
    already stands is revised only with a reason, as a new signed row: the earlier one is kept."""
    # A revision is asked for explicitly, by giving its reason; otherwise a second final assessment is refused.
    revising = kind == AssessmentKind.FINAL and bool((revision_reason or "").strip())
    action = "revise_final" if revising else ASSESS_ACTIONS[kind]
    if kind == AssessmentKind.FINAL and password:
        # Refusals before the password, then the slow check before any lock (it never holds up other writers).
        require(action, criterion.release, actor, criterion)
        check_signer(actor, password)
    release = locked(Release, criterion.release_id)
    facts = ReleaseFacts(release)
    require(action, facts, actor, criterion)
    revises = facts.final(criterion) if revising else None
    rationale = _check_text(rationale, "the rationale")
    revision_reason = _check_text(revision_reason, "the reason for revising") if revising else ""
    signature = None
    if kind == AssessmentKind.FINAL:
        if not password:
            raise WrongPassword("Enter your password to sign the final assessment")
        files = evidence_services.current_files(criterion)
        signature = sign(actor, password, f"assessed as {status.label}", {
            "release": release.code, "criterion": criterion.number, "criterion_text": criterion.text,
            "status": status.value, "rationale": rationale, "revises": revises.id if revises else None,
            "revision_reason": revision_reason,
            "evidence": [{"name": f.original_name, "sha256": f.sha256} for f in files]})
    if revises is not None:
        update_once(Assessment, [Assessment.id == revises.id, Assessment.is_current_final],
                    {"is_current_final": False}, f"Someone else has just revised the final assessment of criterion "
                    f"{criterion.number}. Reload the page to see it.")
    assessment = Assessment(
        release_id=criterion.release_id, criterion_id=criterion.id, status=status, kind=kind, rationale=rationale,
        review_round=release.round, is_current_final=kind == AssessmentKind.FINAL, assessed_by_id=actor.id,
        assessed_at=utcnow(), signature_id=signature.id if signature else None,
        revises_id=revises.id if revises else None, revision_reason=revision_reason if revises else "")
    insert_once(assessment, f"Someone else has just made the final assessment of criterion {criterion.number}. "
                            "Reload the page to see it.")
    verb = "revised" if revises else kind.label
    record_event(actor, f"assessment.{'revised' if revises else kind.value}",
                 f"{verb[0].upper() + verb[1:]} assessment of criterion {criterion.number}: {status.label}",
                 obj=assessment, release=release,
                 before={"status": revises.status.value, "assessment_id": revises.id} if revises else None,
                 after={"status": status.value, "kind": kind.value, "rationale": rationale,
                        "signature_id": assessment.signature_id, "revision_reason": revision_reason or None})
    return assessment


# --- Evidence requests ---------------------------------------------------------------------------------

def _open_new_request(actor, criterion: Criterion, question: str, due_on: dt.date | None) -> EvidenceRequest:
    if due_on is not None and due_on < today():
        raise Invalid("The answer-by date must be today or in the future", field="due_on")
    request = EvidenceRequest(release_id=criterion.release_id, criterion_id=criterion.id, question=question,
                              due_on=due_on, asked_by_id=actor.id, asked_at=utcnow(), state=RequestState.OPEN,
                              round=criterion.release.round)
    insert_once(request, f"Criterion {criterion.number} already has an open evidence request.")
    messages.evidence_requested(criterion, question, due_on)
    return request


def request_evidence(actor, criterion: Criterion, question: str, due_on: dt.date | None = None) -> EvidenceRequest:
    """OpsG asks the criterion's owner for more evidence (one open request per criterion)."""
    require("request_evidence", criterion.release, actor, criterion)
    question = _check_text(question, "your question")
    request = _open_new_request(actor, criterion, question, due_on)
    record_event(actor, "evidence_request.open", f"Asked for more evidence on criterion {criterion.number}",
                 obj=request, release=criterion.release, after={"question": question, "due_on": due_on})
    return request


def _move_request(request: EvidenceRequest, old: tuple[RequestState, ...], **values) -> None:
    """Conditional update of a request's state: exactly one row, else someone got there first."""
    update_once(EvidenceRequest, [EvidenceRequest.id == request.id, EvidenceRequest.state.in_(old)], values,
                "This request has just changed. Reload the page to see where it stands.")
    db.session.refresh(request)


def answer_request(actor, request: EvidenceRequest, comment: str, staged=None, file_name: str | None = None,
                   description: str = "") -> EvidenceRequest:
    """The owner answers with a comment and/or a file."""
    criterion = request.criterion
    require("answer_request", criterion.release, actor, request)
    comment = (comment or "").strip()
    has_file = staged is not None and (staged.size > 0 or file_name)
    if not comment and not has_file:
        raise Invalid("Enter a comment or choose a file to answer the request.")
    if len(comment) > MAX_TEXT:
        raise Invalid(f"The comment must be {MAX_TEXT} characters or fewer.")
    evidence = None
    if has_file:
        evidence = evidence_services.upload_evidence(actor, criterion, staged, file_name,
                                                     description or comment, answers=request)
    _move_request(request, (RequestState.OPEN,), state=RequestState.ANSWERED, answer=comment,
                  answered_by_id=actor.id, answered_at=utcnow())
    record_event(actor, "evidence_request.answer", f"Answered the evidence request on criterion {criterion.number}",
                 obj=request, release=criterion.release, before={"state": "open"},
                 after={"state": "answered", "comment": comment, "file_id": evidence.id if evidence else None})
    messages.evidence_answered(request, actor, comment, evidence.original_name if evidence else None)
    return request


def close_request(actor, request: EvidenceRequest) -> EvidenceRequest:
    """OpsG is satisfied (or withdraws the question)."""
    require("close_request", request.criterion.release, actor, request)
    before = request.state
    _move_request(request, (RequestState.OPEN, RequestState.ANSWERED), state=RequestState.CLOSED,
                  closed_by_id=actor.id, closed_at=utcnow())
    record_event(actor, "evidence_request.close", f"Closed the evidence request on criterion "
                 f"{request.criterion.number}", obj=request, release=request.criterion.release,
                 before={"state": before.value}, after={"state": "closed"})
    return request


def ask_again(actor, request: EvidenceRequest, question: str, due_on: dt.date | None = None) -> EvidenceRequest:
    """Close an answered request and ask a follow-up question in the same thread."""
    criterion = request.criterion
    require("ask_again", criterion.release, actor, request)
    question = _check_text(question, "your question")
    _move_request(request, (RequestState.ANSWERED,), state=RequestState.CLOSED,
                  closed_by_id=actor.id, closed_at=utcnow())
    follow_up = _open_new_request(actor, criterion, question, due_on)
    record_event(actor, "evidence_request.ask_again", f"Asked again for evidence on criterion {criterion.number}",
                 obj=follow_up, release=criterion.release, before={"request_id": request.id},
                 after={"question": question, "due_on": due_on})
    return follow_up
