"""Evidence: upload, withdraw, replace, written statements and submission. The only code that changes them."""
from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from flask import current_app

from ..access import Conflict, Invalid, NotFound, Role
from ..audit.services import record_event
from ..database import insert_once, locked, update_once
from ..extensions import db
from ..notifications import messages
from ..notifications.services import notify, portal_path
from ..queries import ReleaseFacts
from ..releases.models import Criterion, MilestoneKind, Release, Stage
from ..timeutil import UK, as_utc, uk_time, utcnow, working_days_between
from ..workflow import move_stage, require
from . import backends, filetypes, storage
from .evidence_models import EvidenceFile, EvidenceStatement, EvidenceSubmission

MAX_NAME_LENGTH = 200
OWNING_ROLES = (Role.DCC, Role.SECAS)
SUBMIT_VERB = {Role.DCC: "submitted", Role.SECAS: "confirmed"}


def criterion_path(criterion: Criterion) -> str:
    return portal_path("criteria.show", code=criterion.release.code, number=criterion.number)


def check_file_name(name: str | None) -> str:
    """Refuse (never silently rewrite) a name with path parts or control characters."""
    if not name or not name.strip():
        raise Invalid("The file has no name. Choose the file again.", field="file")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise Invalid("The file name must not contain folder names or slashes. Rename the file and try again.",
                      field="file")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise Invalid("The file name contains control characters. Rename the file and try again.", field="file")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(f"The file name must be {MAX_NAME_LENGTH} characters or fewer. Rename the file and try again.",
                      field="file")
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
    if replaces is not None:
        require("replace_evidence", criterion.release, actor, replaces)
    else:
        require("answer_request" if answers is not None else "upload_evidence", criterion.release, actor,
                answers or criterion)
    name = check_file_name(file_name)
    description = (description or "").strip()
    if not description:
        raise Invalid("Enter a description of the file.", field="description")
    if staged.size == 0:
        raise Invalid("The selected file is empty.", field="file")
    filetype = filetypes.detect(staged, staged.size, name)
    if filetype is None:
        raise Invalid(f"The file is not a type the portal accepts. Upload {filetypes.ACCEPTED_LABEL}.",
                      field="file")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in filetype.extensions:
        ending = f"ends '.{extension}'" if extension else "has no extension"
        raise Invalid(f"The file's content is {filetype.label} but its name {ending}. "
                      f"Rename it to end '.{filetype.extensions[0]}' and upload it again.", field="file")
    if replaces is not None and replaces.criterion_id != criterion.id:
        raise Conflict("That file has already been withdrawn or replaced. Reload the page to see the current files.")
    duplicate = db.session.scalar(sa.select(EvidenceFile).where(
        EvidenceFile.criterion_id == criterion.id, EvidenceFile.sha256 == staged.sha256,
        EvidenceFile.withdrawn_at.is_(None)))
    if duplicate is not None:
        raise Conflict(f"This file is already on criterion {criterion.number} as '{duplicate.original_name}' "
                       f"(uploaded {uk_time(duplicate.uploaded_at)}), so it was not stored again.")
    storage_path = backends.store(staged)
    evidence = EvidenceFile(
        release_id=criterion.release_id, criterion_id=criterion.id, sha256=staged.sha256, size=staged.size,
        content_type=filetype.mime, type_label=filetype.label, original_name=name, description=description,
        uploaded_by_id=actor.id, uploaded_at=utcnow(), round=criterion.release.round,
        answers_request_id=getattr(answers, "id", None), replaces_id=getattr(replaces, "id", None))
    try:
        with db.session.begin_nested():
            db.session.add(evidence)
            db.session.flush()
    except sa.exc.IntegrityError:
        referenced = db.session.scalar(sa.select(sa.exists().where(EvidenceFile.sha256 == staged.sha256)))
        backends.remove_if_unreferenced(staged.sha256, bool(referenced))
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
    update_once(EvidenceFile, [EvidenceFile.id == evidence.id, EvidenceFile.withdrawn_at.is_(None)],
                {"withdrawn_at": utcnow(), "withdrawn_by_id": actor.id, "withdraw_reason": reason},
                "That file has already been withdrawn. Reload the page to see the current files.")
    db.session.refresh(evidence)


def withdraw_evidence(actor, evidence: EvidenceFile, reason: str) -> EvidenceFile:
    """Withdraw a file with a reason: it stays listed and downloadable, marked withdrawn."""
    require("withdraw_evidence", evidence.criterion.release, actor, evidence)
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
    require("write_statement", criterion.release, actor, criterion)
    text = (text or "").strip()
    if not text:
        raise Invalid("Enter the statement.")
    statement = statement_for(criterion)
    before = {"text": statement.text} if statement else None
    if statement is None:
        statement = EvidenceStatement(criterion_id=criterion.id, text=text, written_by_id=actor.id)
        db.session.add(statement)
    statement.text, statement.written_by_id, statement.written_at = text, actor.id, utcnow()
    statement.round = criterion.release.round
    db.session.flush()
    record_event(actor, "evidence.statement", f"Wrote the statement for criterion {criterion.number}",
                 obj=statement, release=criterion.release, before=before, after={"text": text})
    return statement


# --- Submission ----------------------------------------------------------------------------------------

def submissions_of(release: Release) -> dict[Role, EvidenceSubmission]:
    """Each owning role's submission in the release's current round (none: not submitted yet)."""
    return {Role(s.role): s for s in db.session.scalars(sa.select(EvidenceSubmission).where(
        EvidenceSubmission.release_id == release.id, EvidenceSubmission.review_round == release.round))}


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


def submit_evidence(actor, release: Release) -> EvidenceSubmission:
    """Record the role's submission for this round; when it is the last owner's, OpsG review starts."""
    release = locked(Release, release.id)
    require("submit_evidence", release, actor)
    submission = EvidenceSubmission(release_id=release.id, role=actor.role, review_round=release.round,
                                    submitted_by_id=actor.id, submitted_at=utcnow(), due_on=evidence_deadline(release))
    insert_once(submission, f"{actor.role.label} has just {SUBMIT_VERB[actor.role]} its evidence.")
    record_event(actor, "evidence.submit",
                 f"{actor.role.label} {SUBMIT_VERB[actor.role]} its evidence ({timeliness(submission)})",
                 obj=submission, release=release, after={"role": str(actor.role), "round": submission.review_round})
    if not ReleaseFacts(release).roles_waiting():
        move_stage(release, "submit_evidence", Stage.OPSG_REVIEW, actor)
        notify("criteria_ready", [Role.OPSG], f"{release.name}: evidence is ready for OpsG review",
               messages.with_deadline("Every owner has submitted its evidence. The criteria are ready for assessment.",
                                      "Assess every criterion", release, MilestoneKind.OPSG_REVIEW),
               url=portal_path("criteria.index", code=release.code), release=release)
    return submission


def evidence_to_check(release: Release, role: Role) -> list[tuple[Criterion, list[EvidenceFile],
                                                                   EvidenceStatement | None]]:
    """The role's criteria open in this round, each with its current files and its statement from this round: what
    the owner checks before submitting."""
    facts = ReleaseFacts(release)
    criteria = facts.open_criteria(role)
    ids = [c.id for c in criteria]
    files: dict[int, list[EvidenceFile]] = {i: [] for i in ids}
    for f in db.session.scalars(sa.select(EvidenceFile).where(
            EvidenceFile.criterion_id.in_(ids), EvidenceFile.withdrawn_at.is_(None),
            EvidenceFile.round == release.round).order_by(EvidenceFile.id)) if ids else ():
        files[f.criterion_id].append(f)
    statements = {s.criterion_id: s for s in db.session.scalars(sa.select(EvidenceStatement).where(
        EvidenceStatement.criterion_id.in_(ids), EvidenceStatement.round == release.round))} if ids else {}
    return [(c, files[c.id], statements.get(c.id)) for c in criteria]


def max_upload_mb() -> int:
    return current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
