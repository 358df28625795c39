"""Assessments and evidence requests (OpsG); the readiness grid. The only code that changes them."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa

from ..access import Conflict, Invalid, PermissionDenied, Role
from ..audit.services import record_event
from ..evidence import services as evidence_services
from ..evidence.models import EvidenceFile
from ..extensions import db
from ..notifications.services import notify
from ..releases.models import Criterion, Release, Stage
from ..signatures import WrongPassword, sign
from ..timeutil import utcnow
from .models import Assessment, AssessmentKind, AssessmentStatus, EvidenceRequest, RequestState

MAX_TEXT = 10000


# --- Reading -------------------------------------------------------------------------------------------

def assessments_of(criterion: Criterion) -> list[Assessment]:
    """Newest first."""
    return list(db.session.scalars(sa.select(Assessment).where(Assessment.criterion_id == criterion.id)
                                   .order_by(Assessment.id.desc())))


def latest_assessments(release: Release) -> dict[int, Assessment]:
    """criterion id -> its latest assessment."""
    latest_ids = (sa.select(sa.func.max(Assessment.id)).where(Assessment.release_id == release.id)
                  .group_by(Assessment.criterion_id))
    rows = db.session.scalars(sa.select(Assessment).where(Assessment.id.in_(latest_ids)))
    return {a.criterion_id: a for a in rows}


def requests_of(criterion: Criterion) -> list[EvidenceRequest]:
    return list(db.session.scalars(sa.select(EvidenceRequest).where(EvidenceRequest.criterion_id == criterion.id)
                                   .order_by(EvidenceRequest.id)))


def open_request(criterion: Criterion) -> EvidenceRequest | None:
    return db.session.scalar(sa.select(EvidenceRequest).where(
        EvidenceRequest.criterion_id == criterion.id, EvidenceRequest.state != RequestState.CLOSED))


def answer_files(request: EvidenceRequest) -> list[EvidenceFile]:
    return list(db.session.scalars(sa.select(EvidenceFile).where(EvidenceFile.answers_request_id == request.id)
                                   .order_by(EvidenceFile.id)))


@dataclass(frozen=True)
class GridCell:
    number: int
    owner: str
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


def readiness_grid(release: Release) -> Grid:
    """One cell per criterion with its latest status, and the count per status."""
    latest = latest_assessments(release)
    cells = []
    for criterion in release.criteria:
        assessment = latest.get(criterion.id)
        cells.append(GridCell(criterion.number, criterion.owner_role.label,
                              assessment.status if assessment else None, assessment.kind if assessment else None,
                              evidence_services.criterion_path(criterion)))
    tally = Counter(cell.label for cell in cells)
    order = [s.label for s in AssessmentStatus] + ["Not assessed"]
    return Grid(release, cells, [(label, tally[label]) for label in order])


# --- Rules ---------------------------------------------------------------------------------------------

def _check_opsg(actor) -> None:
    if actor.role != Role.OPSG:
        raise PermissionDenied("Only OpsG assesses criteria and asks for evidence.")


def _check_text(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(f"Enter {what}.")
    if len(value) > MAX_TEXT:
        raise Invalid(f"{what[0].upper() + what[1:]} must be {MAX_TEXT} characters or fewer.")
    return value


def why_cannot_assess(criterion: Criterion, kind: AssessmentKind) -> str | None:
    stage = criterion.release.stage
    if kind == AssessmentKind.PRELIMINARY and stage not in (Stage.EVIDENCE, Stage.OPSG_REVIEW):
        return f"Preliminary assessments are made during evidence gathering or OpsG review, not at '{stage.label}'."
    if kind == AssessmentKind.FINAL:
        if stage != Stage.OPSG_REVIEW:
            return f"The final assessment is made during OpsG review; the release is at '{stage.label}'."
        if open_request(criterion) is not None:
            return (f"There is an open evidence request on criterion {criterion.number}. "
                    "Close it before making the final assessment.")
        if evidence_services.is_locked(criterion):
            return f"Criterion {criterion.number} already has a final assessment."
    return None


# --- Assessments ---------------------------------------------------------------------------------------

def assess_criterion(actor, criterion: Criterion, status: AssessmentStatus, rationale: str,
                     kind: AssessmentKind, password: str = "") -> Assessment:
    """Record an OpsG assessment; a final one is signed with the assessor's password."""
    _check_opsg(actor)
    rationale = _check_text(rationale, "the rationale")
    reason = why_cannot_assess(criterion, kind)
    if reason:
        raise Conflict(reason)
    signature = None
    if kind == AssessmentKind.FINAL:
        if not password:
            raise WrongPassword("Enter your password to sign the final assessment")
        files = evidence_services.current_files(criterion)
        signature = sign(actor, password, f"assessed as {status.label}", {
            "release": criterion.release.code, "criterion": criterion.number, "criterion_text": criterion.text,
            "status": status.value, "rationale": rationale,
            "evidence": [{"name": f.original_name, "sha256": f.sha256} for f in files]})
    assessment = Assessment(
        release_id=criterion.release_id, criterion_id=criterion.id, status=status, kind=kind, rationale=rationale,
        review_round=evidence_services.current_review_round(criterion.release),
        is_current_final=kind == AssessmentKind.FINAL, assessed_by_id=actor.id, assessed_at=utcnow(),
        signature_id=signature.id if signature else None)
    try:
        with db.session.begin_nested():
            db.session.add(assessment)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(f"Someone else has just made the final assessment of criterion {criterion.number}. "
                       "Reload the page to see it.") from None
    record_event(actor, f"assessment.{kind.value}",
                 f"{kind.label} assessment of criterion {criterion.number}: {status.label}",
                 obj=assessment, release=criterion.release,
                 after={"status": status.value, "kind": kind.value, "rationale": rationale,
                        "signature_id": assessment.signature_id})
    return assessment


# --- Evidence requests ---------------------------------------------------------------------------------

def _check_requests_open(criterion: Criterion) -> None:
    reason = evidence_services.why_evidence_closed(criterion.release, criterion)
    if reason:
        raise Conflict(reason)
    if evidence_services.is_locked(criterion):
        raise Conflict(f"Criterion {criterion.number} has its final assessment; its evidence is locked.")


def _open_new_request(actor, criterion: Criterion, question: str, due_on: dt.date | None) -> EvidenceRequest:
    request = EvidenceRequest(release_id=criterion.release_id, criterion_id=criterion.id, question=question,
                              due_on=due_on, asked_by_id=actor.id, asked_at=utcnow(), state=RequestState.OPEN)
    try:
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(f"Criterion {criterion.number} already has an open evidence request.") from None
    notify("evidence_requested", [criterion.owner_role],
           f"{criterion.release.name}: OpsG asks for more evidence on criterion {criterion.number}", question,
           url=evidence_services.criterion_path(criterion), release=criterion.release)
    return request


def request_evidence(actor, criterion: Criterion, question: str, due_on: dt.date | None = None) -> EvidenceRequest:
    """OpsG asks the criterion's owner for more evidence (one open request per criterion)."""
    _check_opsg(actor)
    question = _check_text(question, "your question")
    _check_requests_open(criterion)
    if open_request(criterion) is not None:
        raise Conflict(f"Criterion {criterion.number} already has an open evidence request. "
                       "Close it or ask again on it.")
    request = _open_new_request(actor, criterion, question, due_on)
    record_event(actor, "evidence_request.open", f"Asked for more evidence on criterion {criterion.number}",
                 obj=request, release=criterion.release, after={"question": question, "due_on": due_on})
    return request


def _move_request(request: EvidenceRequest, old: tuple[RequestState, ...], **values) -> None:
    """Conditional update of a request's state: exactly one row, else someone got there first."""
    result = db.session.execute(
        sa.update(EvidenceRequest).where(EvidenceRequest.id == request.id, EvidenceRequest.state.in_(old))
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict("This request has just changed. Reload the page to see where it stands.")
    db.session.refresh(request)


def answer_request(actor, request: EvidenceRequest, comment: str, staged=None, file_name: str | None = None,
                   description: str = "") -> EvidenceRequest:
    """The owner answers with a comment and/or a file."""
    criterion = request.criterion
    evidence_services.check_can_change(actor, criterion)
    if request.state != RequestState.OPEN:
        raise Conflict("This request is not waiting for an answer.")
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
    return request


def close_request(actor, request: EvidenceRequest) -> EvidenceRequest:
    """OpsG is satisfied (or withdraws the question)."""
    _check_opsg(actor)
    before = request.state
    _move_request(request, (RequestState.OPEN, RequestState.ANSWERED), state=RequestState.CLOSED,
                  closed_by_id=actor.id, closed_at=utcnow())
    record_event(actor, "evidence_request.close", f"Closed the evidence request on criterion "
                 f"{request.criterion.number}", obj=request, release=request.criterion.release,
                 before={"state": before.value}, after={"state": "closed"})
    return request


def ask_again(actor, request: EvidenceRequest, question: str, due_on: dt.date | None = None) -> EvidenceRequest:
    """Close an answered request and ask a follow-up question in the same thread."""
    _check_opsg(actor)
    question = _check_text(question, "your question")
    criterion = request.criterion
    _check_requests_open(criterion)
    if request.state != RequestState.ANSWERED:
        raise Conflict("You can ask again once the owner has answered.")
    _move_request(request, (RequestState.ANSWERED,), state=RequestState.CLOSED,
                  closed_by_id=actor.id, closed_at=utcnow())
    follow_up = _open_new_request(actor, criterion, question, due_on)
    record_event(actor, "evidence_request.ask_again", f"Asked again for evidence on criterion {criterion.number}",
                 obj=follow_up, release=criterion.release, before={"request_id": request.id},
                 after={"question": question, "due_on": due_on})
    return follow_up
