"""A release's life across releases: SECAS creates a release (blank or from an earlier one), and moves a
modification from one release's scope to another's.

Who may do either is the action table's (portal/workflow.py: `create_release` is a portal-wide action,
`move_modification` an action on a scope entry); each function here requires it, checks its input, changes the rows
and writes its audit events in the same transaction.

Participant groups and SEC documents are global tables (every release's impact matrices show them all), so a
new release uses every one of them, as its template did: there is nothing to copy.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..access import Conflict, Invalid
from ..audit.services import record_event
from ..database import locked, next_position
from ..extensions import db
from ..timeutil import move_by_working_days, today, uk_date, why_not_working_day
from ..workflow import require, require_portal
from .models import (Criterion, DocumentImpact, GlossaryTerm, Milestone, MilestoneKind, ModificationProposal,
                     ParticipantImpact, Release, ScopeEntry, ScopeStatus, Stage, TestPhase)
from .services import add_rid_version, record_rid_change, scope_conflict

IN_SCOPE = (ScopeStatus.APPROVED, ScopeStatus.TARGETED)


# --- Creating a release ------------------------------------------------------------------------------

def _duplicate_code(code: str) -> Invalid:
    return Invalid(f"A release with the code {code} already exists. Choose another code.", field="code")


def code_taken(code: str) -> bool:
    return db.session.scalar(sa.select(Release.id).where(Release.code == code)) is not None


def create_release(actor, *, code: str, name: str, planned_go_live: dt.date | None, sec_version: str,
                   template: Release | None = None) -> Release:
    """A new release in the Draft stage with RID version 0.1; from `template` it takes the acceptance criteria,
    the glossary, the test phases and the timeline (each milestone as many Working Days from the new go-live as
    it was from the template's). Never its scope, change requests, impacts, costs, evidence or votes."""
    require_portal("create_release", actor)
    code, name, sec_version = (code or "").strip(), (name or "").strip(), (sec_version or "").strip()
    if not code:
        raise Invalid("Enter the release's code", field="code")
    if not name:
        raise Invalid("Enter the release's name", field="name")
    if planned_go_live is None:
        raise Invalid("Enter the planned go-live date", field="planned_go_live")
    not_working = why_not_working_day(planned_go_live)
    if not_working:
        raise Invalid(f"{not_working} Choose a Working Day for the go-live.", field="planned_go_live")
    if planned_go_live < today():
        raise Invalid(f"The planned go-live date must be today or in the future (today is {uk_date(today())}).",
                      field="planned_go_live")
    if code_taken(code):
        raise _duplicate_code(code)
    release = Release(code=code, name=name, stage=Stage.DRAFT, planned_go_live=planned_go_live,
                      sec_version=sec_version or None)
    try:
        with db.session.begin_nested():  # another request may have just taken the code
            db.session.add(release)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise _duplicate_code(code) from None
    if template is not None:
        _copy_from(template, release)
    db.session.flush()
    db.session.expire(release)
    record_event(actor, "release.created", f"Release {name} created"
                 + (f" from {template.name}" if template else " with a blank RID"), obj=release, release=release,
                 after={"code": code, "name": name, "planned_go_live": planned_go_live.isoformat(),
                        "sec_version": sec_version or None, "template": template.code if template else None})
    add_rid_version(actor, release, f"First draft, from the {template.name}" if template else "First draft")
    return release


def _copy_from(template: Release, release: Release) -> None:
    for c in template.criteria:
        db.session.add(Criterion(release_id=release.id, number=c.number, text=c.text, owner_role=c.owner_role))
    for g in template.glossary:
        db.session.add(GlossaryTerm(release_id=release.id, acronym=g.acronym, term=g.term, position=g.position))
    for t in template.test_phases:
        db.session.add(TestPhase(release_id=release.id, phase=t.phase, name=t.name, applies=t.applies,
                                 reason=t.reason, position=t.position))
    for m in template.milestones:
        due_on = (release.planned_go_live if m.kind == MilestoneKind.GO_LIVE
                  else move_by_working_days(m.due_on, template.planned_go_live, release.planned_go_live))
        db.session.add(Milestone(release_id=release.id, kind=m.kind, due_on=due_on, event=m.event, notes=m.notes,
                                 acting_role=m.acting_role, position=m.position))


# --- Moving a modification between releases ------------------------------------------------------------

def mp_conflict(mp: ModificationProposal, release: Release) -> str | None:
    """Why `mp` cannot join `release`'s scope: it is approved or targeted in another release (or already in
    this one). None when it may."""
    here = db.session.scalar(sa.select(ScopeEntry).where(ScopeEntry.mp_id == mp.id, ScopeEntry.release_id == release.id,
                                                         ScopeEntry.status.in_(IN_SCOPE)))
    if here is not None:
        return f"{mp.reference} is already {here.status.value} in {release.name}."
    other = scope_conflict(mp, release)
    if other is not None:
        return (f"{mp.reference} is {other.status.value} in {other.release.name}: move it from there "
                "instead of adding it twice.")
    return None


def move_modification(actor, entry: ScopeEntry, source: Release, target: Release | None, change_note: str, *,
                      source_version: bool = True) -> ScopeEntry:
    """Move one modification from `source`'s scope to `target`'s as one action: the source keeps a "moved to"
    line, the target gets a targeted entry with the same summary, and the modification's participant and document
    impact ticks go with it. Each baselined release gets a new RID version with `change_note` (the replan, which
    issues the source's version itself, passes `source_version=False`)."""
    source = locked(Release, source.id)
    require("move_modification", source, actor, entry)
    change_note = (change_note or "").strip()
    if target is None:
        raise Invalid("Choose the release the modification moves to", field="target_id")
    if target.id == source.id:
        raise Invalid("Choose another release: the modification is already in this one.", field="target_id")
    target = locked(Release, target.id)
    if target.stage == Stage.LIVE:
        raise Conflict(f"{target.name} is already live: a modification cannot move into it.")
    if (source.is_baselined or target.is_baselined) and not change_note:
        raise Invalid("Enter a change note: a baselined RID gets a new version with it.", field="change_note")
    existing = db.session.scalar(sa.select(ScopeEntry).filter_by(release_id=target.id, mp_id=entry.mp_id))
    if existing is not None and existing.status in IN_SCOPE:
        raise Conflict(f"{entry.mp.reference} is already {existing.status.value} in {target.name}.")
    reference = entry.mp.reference
    before = {"status": str(entry.status), "moved_to_id": entry.moved_to_id}
    entry.status, entry.moved_to_id = ScopeStatus.MOVED, target.id
    if existing is not None:  # it was in the target before (withdrawn, or moved away): it comes back, targeted
        existing.status, existing.moved_to_id, existing.summary = ScopeStatus.TARGETED, None, entry.summary
        moved = existing
    else:
        moved = ScopeEntry(release_id=target.id, mp_id=entry.mp_id, status=ScopeStatus.TARGETED,
                           summary=entry.summary, position=next_position(ScopeEntry, release_id=target.id))
        db.session.add(moved)
    ticks = {}
    for model, column in ((ParticipantImpact, "group_id"), (DocumentImpact, "document_id")):
        rows = db.session.scalars(sa.select(model).filter_by(release_id=source.id, mp_id=entry.mp_id)).all()
        have = set(db.session.scalars(sa.select(getattr(model, column)).filter_by(release_id=target.id,
                                                                                   mp_id=entry.mp_id)))
        for row in rows:
            if getattr(row, column) in have:
                db.session.delete(row)
            else:
                row.release_id = target.id
        ticks[model.__tablename__] = sorted(getattr(r, column) for r in rows)
    db.session.flush()
    db.session.expire(source)
    db.session.expire(target)
    db.session.expire(entry)
    record_event(actor, "scope.moved_out", f"{reference} moved to {target.name}", obj=entry, release=source,
                 before=before, after={"status": str(ScopeStatus.MOVED), "moved_to": target.code, **ticks},
                 note=change_note)
    record_event(actor, "scope.moved_in", f"{reference} moved here from {source.name}", obj=moved, release=target,
                 after={"status": str(ScopeStatus.TARGETED), "moved_from": source.code, **ticks}, note=change_note)
    if source_version:
        record_rid_change(actor, source, change_note)
    record_rid_change(actor, target, change_note)
    return moved


def movable_targets(source: Release) -> list[Release]:
    """The releases a modification of `source` may move to: any other release not yet live."""
    return list(db.session.scalars(sa.select(Release).where(Release.id != source.id, Release.stage != Stage.LIVE)
                                   .order_by(Release.planned_go_live, Release.id)))
