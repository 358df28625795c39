"""Evidence: upload, withdraw, replace, written statements and submission. The only code that changes them."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ..access import Conflict, Invalid, NotFound, PermissionDenied, Role
from ..audit.models import AuditEvent
from ..audit.services import record_event
from ..criteria.models import Assessment
from ..decisions.guards import criteria_needing_reassessment
from ..extensions import db
from ..notifications.services import notify
from ..releases import workflow
from ..releases.models import Criterion, MilestoneKind, Release, Stage
from ..timeutil import as_utc, uk_time, utcnow, working_days_between, UK
from . import filetypes, storage
from .models import EvidenceFile, EvidenceStatement, EvidenceSubmission

MAX_NAME_LENGTH = 200
OWNING_ROLES = (Role.DCC, Role.SECAS)
SUBMIT_VERB = {Role.DCC: "submitted", Role.SECAS: "confirmed"}


def criterion_path(criterion: Criterion) -> str:
    return f"/releases/{criterion.release.code}/criteria/{criterion.number}"


# --- Rules -------------------------------------------------------------------------------------------

def why_evidence_closed(release: Release, criterion: Criterion | None = None) -> str | None:
    """Why evidence cannot change on this release (and criterion) now, or None if it can.

    Deferral extends this: in DEFERRED, evidence opens again for criteria marked for re-assessment.
    """
    if release.stage in (Stage.EVIDENCE, Stage.OPSG_REVIEW):
        return None
    if release.stage == Stage.DEFERRED and criterion is not None and is_marked_for_reassessment(criterion):
        return None
    return f"Evidence cannot be changed while the release is at '{release.stage.label}'."


def is_marked_for_reassessment(criterion: Criterion) -> bool:
    """After a No-go, OpsG marks the criteria that run again (portal/decisions)."""
    return criterion in criteria_needing_reassessment(criterion.release)


def is_locked(criterion: Criterion) -> bool:
    """After OpsG's final assessment a criterion's evidence is locked."""
    return db.session.scalar(sa.select(sa.exists().where(
        Assessment.criterion_id == criterion.id, Assessment.is_current_final))) or False


def why_locked(criterion: Criterion) -> str | None:
    """Why nobody can change this criterion's evidence now (stage or final assessment), or None."""
    reason = why_evidence_closed(criterion.release, criterion)
    if reason:
        return reason
    if is_locked(criterion):
        return f"OpsG has made its final assessment of criterion {criterion.number}, so its evidence is locked."
    return None


def can_change(actor, criterion: Criterion) -> bool:
    return actor.role == criterion.owner_role and why_locked(criterion) is None


def check_can_change(actor, criterion: Criterion) -> None:
    """Only the owning role, in a stage that takes evidence, before the final assessment."""
    if actor.role != criterion.owner_role:
        raise PermissionDenied(f"Criterion {criterion.number} belongs to {criterion.owner_role.label}: "
                               f"only {criterion.owner_role.label} can change its evidence.")
    reason = why_locked(criterion)
    if reason:
        raise Conflict(reason)


def check_file_name(name: str | None) -> str:
    """Refuse (never silently rewrite) a name with path parts or control characters."""
    if not name or not name.strip():
        raise Invalid("The file has no name. Choose the file again.")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise Invalid("The file name must not contain folder names or slashes. Rename the file and try again.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise Invalid("The file name contains control characters. Rename the file and try again.")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(f"The file name must be {MAX_NAME_LENGTH} characters or fewer. Rename the file and try again.")
    return name.strip()


def find_criterion(code: str, number: int) -> Criterion:
    criterion = db.session.scalar(sa.select(Criterion).join(Release).where(
        Release.code == code, Criterion.number == number))
    if criterion is None:
        raise NotFound("There is no such criterion in this release.")
    return criterion


def find_file(file_id: int) -> EvidenceFile:
    evidence = db.session.get(EvidenceFile, file_id)
    if evidence is None:
        raise NotFound("There is no such evidence file.")
    return evidence


def current_files(criterion: Criterion) -> list[EvidenceFile]:
    return list(db.session.scalars(sa.select(EvidenceFile).where(
        EvidenceFile.criterion_id == criterion.id, EvidenceFile.withdrawn_at.is_(None)).order_by(EvidenceFile.id)))


def all_files(criterion: Criterion) -> list[EvidenceFile]:
    """Current files first, then withdrawn ones, each in upload order."""
    files = db.session.scalars(sa.select(EvidenceFile).where(EvidenceFile.criterion_id == criterion.id)
                               .order_by(EvidenceFile.id)).all()
    return [f for f in files if f.is_current] + [f for f in files if not f.is_current]


def statement_for(criterion: Criterion) -> EvidenceStatement | None:
    return db.session.scalar(sa.select(EvidenceStatement).where(EvidenceStatement.criterion_id == criterion.id))


# --- Upload, withdraw, replace -----------------------------------------------------------------------

def upload_evidence(actor, criterion: Criterion, staged: storage.HashingTempFile, file_name: str | None,
                    description: str, *, replaces: EvidenceFile | None = None,
                    answers=None) -> EvidenceFile:
    """Check the upload, store it by hash (fsynced, renamed into place) and add its row; the view commits."""
    check_can_change(actor, criterion)
    name = check_file_name(file_name)
    description = (description or "").strip()
    if not description:
        raise Invalid("Enter a description of the file.")
    if staged.size == 0:
        raise Invalid("The selected file is empty.")
    filetype = filetypes.detect(staged, staged.size, name)
    if filetype is None:
        raise Invalid(f"The file is not a type the portal accepts. Upload {filetypes.ACCEPTED_LABEL}.")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in filetype.extensions:
        ending = f"ends '.{extension}'" if extension else "has no extension"
        raise Invalid(f"The file's content is {filetype.label} but its name {ending}. "
                      f"Rename it to end '.{filetype.extensions[0]}' and upload it again.")
    if replaces is not None and (replaces.criterion_id != criterion.id or not replaces.is_current):
        raise Conflict("That file has already been withdrawn or replaced. Reload the page to see the current files.")
    duplicate = db.session.scalar(sa.select(EvidenceFile).where(
        EvidenceFile.criterion_id == criterion.id, EvidenceFile.sha256 == staged.sha256,
        EvidenceFile.withdrawn_at.is_(None)))
    if duplicate is not None:
        raise Conflict(f"This file is already on criterion {criterion.number} as '{duplicate.original_name}' "
                       f"(uploaded {uk_time(duplicate.uploaded_at)}), so it was not stored again.")
    storage_path = staged.store()
    evidence = EvidenceFile(
        release_id=criterion.release_id, criterion_id=criterion.id, sha256=staged.sha256, size=staged.size,
        content_type=filetype.mime, type_label=filetype.label, original_name=name, description=description,
        uploaded_by_id=actor.id, uploaded_at=utcnow(), answers_request_id=getattr(answers, "id", None),
        replaces_id=getattr(replaces, "id", None))
    try:
        with db.session.begin_nested():
            db.session.add(evidence)
            db.session.flush()
    except sa.exc.IntegrityError:
        referenced = db.session.scalar(sa.select(sa.exists().where(EvidenceFile.sha256 == staged.sha256)))
        storage.remove_if_unreferenced(staged.sha256, bool(referenced))
        raise Conflict(f"This file has just been uploaded to criterion {criterion.number}, "
                       "so it was not stored again.") from None
    after = {"name": name, "sha256": staged.sha256, "size": staged.size, "type": filetype.mime,
             "description": description}
    if replaces is not None:
        _mark_withdrawn(actor, replaces, f"Replaced by '{name}'")
        record_event(actor, "evidence.replace",
                     f"Replaced '{replaces.original_name}' with '{name}' on criterion {criterion.number}",
                     obj=evidence, release=criterion.release, before={"file_id": replaces.id,
                                                                      "sha256": replaces.sha256}, after=after)
    else:
        record_event(actor, "evidence.upload", f"Uploaded '{name}' to criterion {criterion.number}",
                     obj=evidence, release=criterion.release, after=after, stored_as=str(storage_path.name))
    return evidence


def _mark_withdrawn(actor, evidence: EvidenceFile, reason: str) -> None:
    """Conditional update: only one withdrawal of a file wins."""
    result = db.session.execute(
        sa.update(EvidenceFile)
        .where(EvidenceFile.id == evidence.id, EvidenceFile.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow(), withdrawn_by_id=actor.id, withdraw_reason=reason)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict("That file has already been withdrawn. Reload the page to see the current files.")
    db.session.refresh(evidence)


def withdraw_evidence(actor, evidence: EvidenceFile, reason: str) -> EvidenceFile:
    """Withdraw a file with a reason: it stays listed and downloadable, marked withdrawn."""
    check_can_change(actor, evidence.criterion)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Enter the reason for withdrawing the file.")
    _mark_withdrawn(actor, evidence, reason)
    record_event(actor, "evidence.withdraw",
                 f"Withdrew '{evidence.original_name}' from criterion {evidence.criterion.number}",
                 obj=evidence, release=evidence.criterion.release, before={"withdrawn": False},
                 after={"withdrawn": True, "reason": reason})
    return evidence


def write_statement(actor, criterion: Criterion, text: str) -> EvidenceStatement:
    """The owner's written statement for a criterion (replacing any earlier one)."""
    check_can_change(actor, criterion)
    text = (text or "").strip()
    if not text:
        raise Invalid("Enter the statement.")
    statement = statement_for(criterion)
    before = {"text": statement.text} if statement else None
    if statement is None:
        statement = EvidenceStatement(criterion_id=criterion.id, text=text, written_by_id=actor.id)
        db.session.add(statement)
    statement.text, statement.written_by_id, statement.written_at = text, actor.id, utcnow()
    db.session.flush()
    record_event(actor, "evidence.statement", f"Wrote the statement for criterion {criterion.number}",
                 obj=statement, release=criterion.release, before=before, after={"text": text})
    return statement


# --- Submission ----------------------------------------------------------------------------------------

def review_rounds(release_ids: list[int]) -> dict[int, int]:
    """Each release's review round: 1, plus one for each time it returned from deferral to evidence gathering."""
    replans = dict(db.session.execute(
        sa.select(AuditEvent.release_id, sa.func.count()).where(
            AuditEvent.release_id.in_(release_ids), AuditEvent.action == "release.replan")
        .group_by(AuditEvent.release_id)).all())
    return {release_id: 1 + replans.get(release_id, 0) for release_id in release_ids}


def current_review_round(release: Release) -> int:
    return review_rounds([release.id])[release.id]


def criteria_missing_evidence(release: Release, role: Role) -> list[Criterion]:
    """The role's criteria with neither a current file nor a written statement."""
    return criteria_missing_evidence_in([release.id], role)


def criteria_missing_evidence_in(release_ids: list[int], role: Role) -> list[Criterion]:
    """The same for several releases in one query (My tasks), by release then number."""
    has_file = sa.exists().where(EvidenceFile.criterion_id == Criterion.id, EvidenceFile.withdrawn_at.is_(None))
    has_statement = sa.exists().where(EvidenceStatement.criterion_id == Criterion.id)
    return list(db.session.scalars(sa.select(Criterion).where(
        Criterion.release_id.in_(release_ids), Criterion.owner_role == role, ~has_file, ~has_statement)
        .order_by(Criterion.release_id, Criterion.number)))


def owning_roles(release: Release) -> list[Role]:
    return sorted({c.owner_role for c in release.criteria}, key=lambda r: OWNING_ROLES.index(r)
                  if r in OWNING_ROLES else 99)


def submission_for(release: Release, role: Role) -> EvidenceSubmission | None:
    return submissions_in([release.id], role).get(release.id)


def submissions_in(release_ids: list[int], role: Role) -> dict[int, EvidenceSubmission]:
    """The role's submission in each release's current review round, by release id (none: not submitted yet)."""
    rounds = review_rounds(release_ids)
    return {s.release_id: s for s in db.session.scalars(sa.select(EvidenceSubmission).where(
        EvidenceSubmission.release_id.in_(release_ids), EvidenceSubmission.role == role))
        if s.review_round == rounds[s.release_id]}


def evidence_deadline(release: Release):
    return next((m.due_on for m in release.milestones if m.kind == MilestoneKind.EVIDENCE), None)


def timeliness(submission: EvidenceSubmission) -> str:
    """'on time' or 'N Working Days late' against the timeline's evidence date."""
    if submission.due_on is None:
        return "no deadline in the timeline"
    submitted_on = as_utc(submission.submitted_at).astimezone(UK).date()
    late = working_days_between(submission.due_on, submitted_on)
    if submitted_on <= submission.due_on or late <= 0:
        return "on time"
    return "1 Working Day late" if late == 1 else f"{late} Working Days late"


def why_role_cannot_submit(release: Release, role: Role) -> str | None:
    """Why `role` cannot submit its evidence for `release` now, or None when it can."""
    return why_role_cannot_submit_in([release], role)[release.id]


def why_role_cannot_submit_in(releases: list[Release], role: Role,
                              missing: dict[int, list[Criterion]] | None = None) -> dict[int, str | None]:
    """The same for several releases in a fixed number of queries (My tasks), by release id. `missing` may pass
    the role's criteria missing evidence by release when the caller already has them."""
    ids = [release.id for release in releases]
    owners = {tuple(row) for row in db.session.execute(
        sa.select(Criterion.release_id, Criterion.owner_role).distinct().where(Criterion.release_id.in_(ids)))}
    submitted = submissions_in(ids, role)
    if missing is None:
        missing = {}
        for criterion in criteria_missing_evidence_in(ids, role):
            missing.setdefault(criterion.release_id, []).append(criterion)
    reasons: dict[int, str | None] = {}
    for release in releases:
        if release.stage != Stage.EVIDENCE:
            reasons[release.id] = f"Evidence can only be submitted while the release is at '{Stage.EVIDENCE.label}'."
        elif (release.id, role) not in owners:
            reasons[release.id] = f"{role.label} owns no criteria in this release."
        elif release.id in submitted:
            reasons[release.id] = f"{role.label} has already {SUBMIT_VERB.get(role, 'submitted')} its evidence."
        elif missing.get(release.id):
            numbers = ", ".join(str(c.number) for c in missing[release.id])
            reasons[release.id] = (f"Criteria {numbers} need at least one current file or a written statement "
                                   "before the evidence can be submitted.")
        else:
            reasons[release.id] = None
    return reasons


def roles_waiting_to_submit(release: Release) -> list[Role]:
    """Owning roles that have not yet submitted this round (the start_opsg_review guard)."""
    return [r for r in owning_roles(release) if submission_for(release, r) is None]


def submit_evidence(actor, release: Release) -> EvidenceSubmission:
    """Record the role's submission; when it is the last owning role's, start OpsG review."""
    if actor.role not in OWNING_ROLES:
        raise PermissionDenied("Only the DCC or SECAS submit evidence.")
    reason = why_role_cannot_submit(release, actor.role)
    if reason:
        raise Conflict(reason)
    submission = EvidenceSubmission(release_id=release.id, role=actor.role,
                                    review_round=current_review_round(release), submitted_by_id=actor.id,
                                    submitted_at=utcnow(), due_on=evidence_deadline(release))
    try:
        with db.session.begin_nested():
            db.session.add(submission)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(f"{actor.role.label} has just {SUBMIT_VERB[actor.role]} its evidence.") from None
    record_event(actor, "evidence.submit",
                 f"{actor.role.label} {SUBMIT_VERB[actor.role]} its evidence ({timeliness(submission)})",
                 obj=submission, release=release, after={"role": str(actor.role), "round": submission.review_round})
    if not roles_waiting_to_submit(release):
        workflow.apply_transition(release, "start_opsg_review", actor)
        notify("criteria_ready", [Role.OPSG], f"{release.name}: evidence is ready for OpsG review",
               "Every owner has submitted its evidence. The criteria are ready for assessment.",
               url=f"/releases/{release.code}/criteria", release=release)
    return submission


def max_upload_mb() -> int:
    return current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
