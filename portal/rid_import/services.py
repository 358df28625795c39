"""Saving what was read from a RID document: as a new release (Draft, with the document's version history), or as
the next RID version of a release still in Draft, its RID replaced by the document's. The rows, the RID version and
the audit events are written in one transaction; the caller commits. A participant group or SEC document the portal
does not have yet is added as authoring adds one: the matrices' axes are shared, so every other baselined RID gets a
new version."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..access import Conflict, Invalid, PortalError, Role
from ..audit.services import record_event
from ..database import get_or_create
from ..extensions import db
from ..releases.authoring import answered_criteria, store_participant_group, store_sec_document
from ..releases.lifecycle import code_taken
from ..releases.models import (ChangeRequest, CostItem, Criterion, DocumentImpact, GlossaryTerm, ImpactSummary,
                               Milestone, MilestoneKind, ModificationProposal, OtherCodeImpact, ParticipantGroup,
                               ParticipantImpact, Release, RidVersion, ScopeEntry, ScopeStatus, SecDocument, Stage,
                               TestPhase)
from ..releases.rid_live import RID_ROWS
from ..releases.services import add_rid_version, scope_conflict
from ..releases.snapshot import rid_snapshot
from ..workflow import require, require_portal
from .reader import NOTE_KEYS, Reading

D = dt.date.fromisoformat


def _shared_note(label: str, release: Release, filename: str) -> str:
    return f"{label} added by importing {filename or 'a RID document'} into the RID of {release.name}"


def _participant_group(actor, release: Release, name: str, filename: str) -> ParticipantGroup:
    """The group of this name, or a new one added as authoring adds it: a shared axis, so a new version of every
    other baselined RID, with its note and audit event."""
    return (db.session.scalar(sa.select(ParticipantGroup).where(ParticipantGroup.name == name))
            or store_participant_group(actor, release, name,
                                       _shared_note(f"Participant group {name}", release, filename)))


def _sec_document(actor, release: Release, name: str, title: str, filename: str) -> SecDocument:
    """The SEC document of this name, or a new one added as authoring adds it (see `_participant_group`)."""
    return (db.session.scalar(sa.select(SecDocument).where(SecDocument.name == name))
            or store_sec_document(actor, release, name, title, _shared_note(f"SEC document {name}", release, filename)))


def _check(reading: Reading, release: Release | None = None, code: str = "") -> None:
    """Refuse, before anything is written, what the import could not save (the review screen asks the same)."""
    head = reading.rid["release"]
    if not head["planned_go_live"]:
        raise Invalid("The RID's timetable has no release go-live date, so the release's planned go-live is unknown.")
    if not head["name"]:
        raise Invalid("The RID does not give the release's name.")
    if release is None and code_taken(code):
        raise Conflict(f"A release with the code {code} already exists. Import into it as a new RID version "
                       "(if it is a draft), or choose another code.")
    if release is not None and release.stage != Stage.DRAFT:
        raise Conflict(f"{release.name} is past its draft ({release.stage.label}); a RID document can be imported "
                       "only into a release whose RID is still a draft. Edit its RID instead.")
    if release is not None and answered_criteria(release):
        raise Conflict(f"{release.name} has criteria with evidence or assessments; its RID cannot be replaced.")
    for e in reading.rid["scope"]:
        mp = db.session.scalar(sa.select(ModificationProposal).where(ModificationProposal.reference == e["mp"]))
        conflict = scope_conflict(mp, release) if mp is not None and release is not None else None
        if mp is not None and release is None:
            conflict = db.session.scalar(sa.select(ScopeEntry).where(
                ScopeEntry.mp_id == mp.id, ScopeEntry.status.in_((ScopeStatus.APPROVED, ScopeStatus.TARGETED))))
        if conflict is not None:
            raise Conflict(f"{mp.reference} is already in the scope of {conflict.release.name}; a modification is "
                           "implemented in one release only. Move it out of that release first.")


def import_problem(reading: Reading, release: Release | None, code: str = "") -> str | None:
    """Why this reading cannot be saved as asked, in a sentence; None when it can."""
    try:
        _check(reading, release, new_code(reading, code) if release is None else "")
    except PortalError as err:
        return err.message
    return None


def new_code(reading: Reading, code: str | None) -> str:
    return (code or reading.rid["release"]["code"] or "").strip()


def _write_rows(actor, release: Release, reading: Reading, filename: str) -> None:
    """The document's RID as the release's rows (the release must have none of its own left)."""
    rid = reading.rid
    for key in NOTE_KEYS:
        setattr(release, key, rid["release"]["notes"].get(key, ""))
    mps = {}
    for position, e in enumerate(rid["scope"]):
        mp = get_or_create(ModificationProposal, {"reference": e["mp"]}, title=e["title"], url=e.get("url") or "")
        if e.get("url") and not mp.url:
            mp.url = e["url"]
        mps[e["mp"]] = mp
        db.session.add(ScopeEntry(release_id=release.id, mp_id=mp.id, status=ScopeStatus(e["status"]),
                                  cutoff_date=D(e["cutoff_date"]) if e["cutoff_date"] else None,
                                  summary=e["summary"], position=position))
    for position, cr in enumerate(rid["change_requests"]):
        db.session.add(ChangeRequest(release_id=release.id, reference=cr["reference"], title=cr["title"],
                                     position=position))
    groups = {g["name"]: _participant_group(actor, release, g["name"], filename) for g in rid["participant_groups"]}
    documents = {d["name"]: _sec_document(actor, release, d["name"], d["title"] or d["name"], filename)
                 for d in rid["sec_documents"]}
    for ref, name in rid["participant_impacts"]:
        if ref in mps:
            db.session.add(ParticipantImpact(release_id=release.id, mp_id=mps[ref].id, group_id=groups[name].id))
    for ref, name in rid["document_impacts"]:
        if ref in mps:
            db.session.add(DocumentImpact(release_id=release.id, mp_id=mps[ref].id, document_id=documents[name].id))
    for position, s in enumerate(rid["impact_summaries"]):
        db.session.add(ImpactSummary(release_id=release.id, kind=s["kind"], subject=s["subject"], text=s["text"],
                                     position=position))
    for position, o in enumerate(rid["other_code_impacts"]):
        db.session.add(OtherCodeImpact(release_id=release.id, code=o["code"], description=o["description"],
                                       position=position))
    for position, m in enumerate(rid["milestones"]):
        db.session.add(Milestone(release_id=release.id, kind=MilestoneKind(m["kind"]), due_on=D(m["due_on"]),
                                 event=m["event"], notes=m["notes"], acting_role=Role(m["acting_role"]),
                                 position=position))
    for position, t in enumerate(rid["test_phases"]):
        db.session.add(TestPhase(release_id=release.id, phase=t["phase"], name=t["name"], applies=t["applies"],
                                 reason=t["reason"], position=position))
    for position, c in enumerate(rid["cost_items"]):
        db.session.add(CostItem(release_id=release.id, party=c["party"], description=c["description"],
                                amount_pence=c["amount_pence"], already_budgeted=c["already_budgeted"],
                                qualifier=c["qualifier"], position=position))
    for c in rid["criteria"]:
        db.session.add(Criterion(release_id=release.id, number=c["number"], text=c["text"],
                                 owner_role=Role(c["owner_role"])))
    for position, g in enumerate(rid["glossary"]):
        db.session.add(GlossaryTerm(release_id=release.id, acronym=g["acronym"], term=g["term"], position=position))
    db.session.flush()
    db.session.expire(release)


def import_new_release(actor, reading: Reading, *, code: str | None = None, filename: str = "") -> Release:
    """A new Draft release from the document, with its version history (the last version holds the RID)."""
    if actor is not None:
        require_portal("import_rid", actor)
    head = reading.rid["release"]
    code = new_code(reading, code)
    if not code:
        raise Invalid("Give the new release a code.", field="code")
    _check(reading, None, code)
    release = Release(code=code, name=head["name"], stage=Stage.DRAFT, planned_go_live=D(head["planned_go_live"]))
    db.session.add(release)
    db.session.flush()
    _write_rows(actor, release, reading, filename)
    versions = reading.versions or [{"number": "0.1", "issued_on": dt.date.today().isoformat(),
                                     "change_note": f"Imported from {filename or 'a RID document'}",
                                     "panel_meeting_on": None, "panel_minute_ref": None}]
    snapshot = rid_snapshot(release)
    for n, v in enumerate(versions):
        major, minor = (int(x) for x in v["number"].split("."))
        db.session.add(RidVersion(
            release_id=release.id, major=major, minor=minor, issued_on=D(v["issued_on"]), change_note=v["change_note"],
            panel_meeting_on=D(v["panel_meeting_on"]) if v["panel_meeting_on"] else None,
            panel_minute_ref=v["panel_minute_ref"],
            # Only the last version's RID is in the document; the earlier ones are known by their history line.
            snapshot=snapshot if n == len(versions) - 1 else None, created_by_id=actor.id if actor else None))
    db.session.flush()
    db.session.expire(release)
    record_event(actor, "release.imported", f"Release {release.name} imported from {filename or 'a RID document'}",
                 obj=release, release=release,
                 after={"code": code, "name": release.name, "planned_go_live": head["planned_go_live"],
                        "rid_versions": [v["number"] for v in versions], "warnings": len(reading.warnings)})
    return release


def import_rid_version(actor, release: Release, reading: Reading, *, filename: str = "") -> RidVersion:
    """The next RID version of a Draft release: its RID replaced by the document's."""
    if actor is not None:
        require_portal("import_rid", actor)
        require("edit_rid", release, actor)
    _check(reading, release)
    head = reading.rid["release"]
    for model in RID_ROWS:
        for row in db.session.scalars(sa.select(model).where(model.release_id == release.id)):
            db.session.delete(row)
    db.session.flush()
    db.session.expire(release)
    release.name = head["name"]
    release.planned_go_live = D(head["planned_go_live"])
    _write_rows(actor, release, reading, filename)
    record_event(actor, "rid.imported", f"RID of {release.name} replaced from {filename or 'a RID document'}",
                 obj=release, release=release, after={"warnings": len(reading.warnings)})
    return add_rid_version(actor, release, f"Imported from {filename or 'a RID document'}")
