"""RID versions and snapshots; the rules for who may change a release's RID and when."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..access import Conflict, Invalid, Role
from ..audit.services import record_event
from ..database import locked, next_position
from ..document.services import store_version_pdf
from ..extensions import db
from ..notifications import messages
from ..queries import ReleaseFacts
from ..timeutil import due_phrase, today, uk_date
from ..workflow import may, move_stage, require, why_closed
from .models import (CostItem, Criterion, DocumentImpact, ImpactSummary, Milestone, MilestoneKind,
                     ParticipantGroup, ParticipantImpact, Release, RidVersion, ScopeEntry, ScopeStatus,
                     SecDocument, Stage)
from .rid_view import IN_SCOPE
from .snapshot import rid_snapshot


def release_or_404(code: str, *options) -> Release:
    """The release with this code, or a 404 page: the one lookup every part of the portal uses (`options`: loader
    options, e.g. the sections a page shows)."""
    return db.first_or_404(sa.select(Release).where(Release.code == code).options(*options))


def can_edit_rid(release: Release, user) -> bool:
    return may("edit_rid", ReleaseFacts(release), user)


def _open_others(release: Release, *where) -> list[Release]:
    """The other releases whose RID is still open to change (the action table's `edit_rid`), in their order."""
    others = db.session.scalars(sa.select(Release).where(Release.id != release.id, *where)
                                .order_by(Release.planned_go_live, Release.id))
    return [r for r in others if why_closed("edit_rid", ReleaseFacts(r)) is None]


def rid_releases(release: Release, *, shared: bool = False) -> list[Release]:
    """The releases whose current RID a change made from `release`'s RID changes: that release alone, or, for a
    change to the matrices' shared axes (participant groups, SEC documents, which every RID shows), that release
    first and then every other release whose RID is still open to change. A Live release is not among them: its
    stored RID versions are its record and stay as issued."""
    return [release, *_open_others(release)] if shared else [release]


def baselined_releases(releases: list[Release]) -> list[Release]:
    """Those of `releases` whose RID is baselined (one query, in their order)."""
    ids = set(db.session.scalars(sa.select(RidVersion.release_id).where(
        RidVersion.is_baseline, RidVersion.release_id.in_([r.id for r in releases]))))
    return [r for r in releases if r.id in ids]


def needs_change_note(release: Release, *, shared: bool = False) -> bool:
    """Once baselined, every change makes a new RID version with a change note; a change to the shared axes does
    once any release whose RID it changes is baselined."""
    if release.is_baselined or not shared or release.stage is not Stage.DRAFT:
        # Past Draft a release has been baselined: only a draft's page asks about the other releases.
        return release.is_baselined
    return bool(_open_others(release, Release.rid_versions.any(RidVersion.is_baseline)))  # one query, per page


def _names(releases: list[Release]) -> str:
    names = [r.name for r in releases]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def add_rid_version(actor, release: Release, change_note: str, *, major: bool = False,
                    baseline: bool = False, issued_on: dt.date | None = None) -> RidVersion:
    """Issue the next RID version with a snapshot of the RID as it now stands."""
    change_note = (change_note or "").strip()
    if not change_note:
        raise Invalid("Enter a change note describing what changed in this RID version.")
    db.session.flush()
    db.session.expire(release)
    current = release.current_rid
    if current is None:
        number = (0, 1)
    elif major:
        number = (current.major + 1, 0)
    else:
        number = (current.major, current.minor + 1)
    version = RidVersion(release_id=release.id, major=number[0], minor=number[1],
                         issued_on=issued_on or today(), change_note=change_note, is_baseline=baseline,
                         snapshot=rid_snapshot(release), created_by_id=actor.id if actor else None)
    db.session.add(version)
    db.session.flush()
    db.session.expire(release, ["rid_versions"])
    record_event(actor, "rid.version_issued", f"RID version {version.number} issued: {change_note}",
                 obj=version, release=release, after={"version": version.number, "baseline": baseline})
    if baseline or release.is_baselined:  # the one place every party hears of a new version
        messages.rid_version_issued(release, version)
    return version


def record_rid_change(actor, release: Release, change_note: str | None) -> RidVersion | None:
    """Called by every RID edit after it changes the data: a new version once baselined, none in draft."""
    if needs_change_note(release):
        return add_rid_version(actor, release, change_note or "")
    return None


# --- Where the release stands: the timeline against the workflow ---------------------------------

# The stages in the order a release moves through them; a Deferred release has had its Panel decision.
STAGE_ORDER = {Stage.DRAFT: 0, Stage.EVIDENCE: 1, Stage.OPSG_REVIEW: 2, Stage.PANEL_VOTE: 3,
               Stage.APPROVED: 4, Stage.DEFERRED: 4, Stage.LIVE: 5}

# The one mapping of timeline events to workflow steps: a milestone is done once the release is past its stage.
MILESTONE_STAGE = {
    MilestoneKind.BASELINE: Stage.DRAFT,
    MilestoneKind.EVIDENCE: Stage.EVIDENCE,
    MilestoneKind.OPSG_REVIEW: Stage.OPSG_REVIEW,
    MilestoneKind.PANEL_DECISION: Stage.PANEL_VOTE,
    MilestoneKind.GO_LIVE: Stage.APPROVED,
}


def is_milestone_done(milestone, stage: Stage, on: dt.date) -> bool:
    """A workflow milestone is done once the release has moved past its step; any other once its date passed."""
    step = MILESTONE_STAGE.get(MilestoneKind(milestone.kind))
    if step is None:
        return milestone.due_on < on
    return STAGE_ORDER[stage] > STAGE_ORDER[step]


@dataclass(frozen=True)
class MilestoneMark:
    done: bool
    is_next: bool
    overdue: bool
    phrase: str


def timeline_marks(release: Release, on: dt.date | None = None) -> dict[int, MilestoneMark]:
    """Each milestone's id → done / next / overdue against `on` (today by default)."""
    on = on or today()
    marks: dict[int, MilestoneMark] = {}
    next_found = False
    for milestone in release.milestones:
        done = is_milestone_done(milestone, release.stage, on)
        is_next = not done and not next_found
        next_found = next_found or is_next
        marks[milestone.id] = MilestoneMark(done=done, is_next=is_next, overdue=not done and milestone.due_on < on,
                                            phrase="" if done else due_phrase(milestone.due_on, on))
    return marks


@dataclass(frozen=True)
class PicturePoint:
    x: int
    y: int
    label: str
    due_on: dt.date
    state: str  # done, next, overdue or planned
    anchor_end: bool  # the label reads to the left of its dot (dots in the right part of the picture)


@dataclass(frozen=True)
class TimelinePicture:
    width: int
    height: int
    axis_y: int
    points: list[PicturePoint]
    today_x: int
    today: dt.date
    today_outside: str  # "", "before" or "after": today is off the picture's span, shown at that edge


PICTURE_WIDTH, PICTURE_ROW, PICTURE_MARGIN = 960, 30, 24


def timeline_picture(milestones: list[dict], marks: dict[int, MilestoneMark],
                     on: dt.date | None = None) -> TimelinePicture | None:
    """Where each milestone sits on a line from the first to the last, one row each, and today against them: the
    release page draws it as an SVG (templates/releases/_timeline_svg.html)."""
    if not milestones:
        return None
    on = on or today()
    first, last = min(m["due_on"] for m in milestones), max(m["due_on"] for m in milestones)
    span = max((last - first).days, 1)
    inner = PICTURE_WIDTH - 2 * PICTURE_MARGIN

    def x_of(day: dt.date) -> int:
        return PICTURE_MARGIN + round(inner * min(max((day - first).days / span, 0), 1))

    points = []
    for row, m in enumerate(milestones):
        mark = marks.get(m["id"])
        state = ("done" if mark and mark.done else "overdue" if mark and mark.overdue
                 else "next" if mark and mark.is_next else "planned")
        x = x_of(m["due_on"])
        points.append(PicturePoint(x, PICTURE_MARGIN + row * PICTURE_ROW, m["event"], m["due_on"], state,
                                   x > PICTURE_MARGIN + inner * 0.55))
    axis_y = PICTURE_MARGIN + len(milestones) * PICTURE_ROW
    outside = "before" if on < first else "after" if on > last else ""
    return TimelinePicture(PICTURE_WIDTH, axis_y + 2 * PICTURE_MARGIN, axis_y, points, x_of(on), on, outside)


def next_milestone(release: Release, on: dt.date | None = None) -> Milestone | None:
    """The next milestone not yet done: its event, acting role and date are the release's next deadline."""
    on = on or today()
    return next((m for m in release.milestones if not is_milestone_done(m, release.stage, on)), None)


# --- Baselining ------------------------------------------------------------------------------------

BASELINE_NOTE = "Baselined by the SEC Panel."


def baseline_rid(actor, release: Release, *, meeting_on: dt.date, minute_ref: str) -> RidVersion:
    """The Panel chair baselines the RID: the release moves to evidence gathering and RID 1.0 is issued, naming
    the Panel meeting that baselined it and the minute that records it."""
    release = locked(Release, release.id)
    require("baseline", release, actor)
    minute_ref = (minute_ref or "").strip()
    if not minute_ref:
        raise Invalid("Enter the minute reference", field="minute_ref")
    if meeting_on is None:
        raise Invalid("Enter the date of the Panel meeting", field="meeting_on-day")
    if meeting_on > today():
        raise Invalid("The date of the Panel meeting must be today or in the past", field="meeting_on-day")
    move_stage(release, "baseline", Stage.EVIDENCE, actor)
    version = add_rid_version(actor, release, BASELINE_NOTE, major=True, baseline=True)
    version.panel_meeting_on, version.panel_minute_ref = meeting_on, minute_ref
    db.session.flush()
    record_event(actor, "rid.baselined", f"RID baselined at the Panel meeting on {uk_date(meeting_on)}, "
                 f"minute {minute_ref}", obj=version, release=release,
                 after={"version": version.number, "panel_meeting_on": meeting_on.isoformat(),
                        "panel_minute_ref": minute_ref})
    store_version_pdf(actor, release, version)  # the document the Panel baselined, in this transaction
    return version


# --- Editing the RID (SECAS) -----------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return value


def _check_rid_edit(actor, release: Release, change_note: str | None, *, shared: bool = False) -> None:
    require("edit_rid", release, actor)
    if (change_note or "").strip():
        return
    if needs_change_note(release):
        raise Invalid("Enter a change note: the RID is baselined, so this change makes a new RID version.")
    if shared:
        versioned = baselined_releases(rid_releases(release, shared=True))
        if versioned:
            raise Invalid(f"Enter a change note: this changes every release's RID, and the RID of "
                          f"{_names(versioned)} is baselined, so it gets a new RID version with the note.",
                          "change_note")


def record_rid_edit(actor, release: Release, action: str, summary: str, change_note: str | None, *,
                    shared: bool = False, **event: Any) -> list[Release]:
    """The audit event of one RID edit; for a change to the shared axes it names every release whose RID it
    changes and each that gets a new RID version. Returns the releases to pass to `issue_rid_versions`."""
    releases = rid_releases(release, shared=shared)
    if shared:
        versioned = baselined_releases(releases)
        if versioned:
            summary += f"; new RID version in {_names(versioned)}"
        event.update(releases=[r.code for r in releases], versions_in=[r.code for r in versioned])
    record_event(actor, action, summary, release=release, note=(change_note or "").strip(), **event)
    return releases


def issue_rid_versions(actor, releases: list[Release], change_note: str | None) -> None:
    """After the change: a new RID version, with the same note, in each of `releases` that is baselined."""
    for each in releases:
        record_rid_change(actor, each, change_note)


def _change_row(actor, release: Release, row, changes: dict[str, Any], change_note: str | None,
                action: str, label: str, *, shared: bool = False) -> bool:
    """Apply `changes` to one RID row, audit it and issue a new RID version once baselined (for a row of the shared
    axes, in every release whose RID it changes). False if unchanged."""
    _check_rid_edit(actor, release, change_note, shared=shared)
    before = {k: _plain(getattr(row, k)) for k in changes}
    after = {k: _plain(v) for k, v in changes.items()}
    if before == after:
        return False
    for key, value in changes.items():
        setattr(row, key, value)
    db.session.flush()
    db.session.expire(row)  # reload relationships behind changed foreign keys before the snapshot
    releases = record_rid_edit(actor, release, action, f"{label} changed", change_note, shared=shared, obj=row,
                               before=before, after=after)
    issue_rid_versions(actor, releases, change_note)
    return True


def scope_conflict(mp, release: Release) -> ScopeEntry | None:
    """Another release's scope entry that already has this modification approved or targeted (a modification is
    implemented in one release only)."""
    return db.session.scalar(sa.select(ScopeEntry).where(
        ScopeEntry.mp_id == mp.id, ScopeEntry.release_id != release.id, ScopeEntry.status.in_(IN_SCOPE))
        .order_by(ScopeEntry.id).limit(1))


def update_scope_entry(actor, release: Release, entry: ScopeEntry, *, status: ScopeStatus,
                       cutoff_date: dt.date | None, summary: str, moved_to: Release | None,
                       change_note: str | None = None) -> bool:
    """Change a modification's place in the release's scope (moving one that is in the scope to another release is
    lifecycle.move_modification, the one move action: the scope edit calls it for that)."""
    if status == ScopeStatus.MOVED and moved_to is None:
        raise Invalid("Choose the release the modification has moved to.")
    if moved_to is not None and moved_to.id == release.id:
        raise Invalid("A modification cannot move to the release it is already in.")
    if status != ScopeStatus.MOVED:
        moved_to = None
    if cutoff_date is not None and cutoff_date > release.planned_go_live:
        raise Invalid(f"The decision cut-off date must be on or before the planned go-live, "
                      f"{uk_date(release.planned_go_live)}", "cutoff_date")
    if status in IN_SCOPE and entry.status not in IN_SCOPE:
        other = scope_conflict(entry.mp, release)
        if other is not None:
            raise Invalid(f"{entry.mp.reference} is already {other.status.value} in the {other.release.name}: "
                          f"move it from there first", "status")
    return _change_row(actor, release, entry, {
        "status": status, "cutoff_date": cutoff_date, "summary": summary.strip(),
        "moved_to_id": moved_to.id if moved_to else None,
    }, change_note, "rid.scope_changed", f"Scope entry {entry.mp.reference}")


def update_milestone(actor, release: Release, milestone: Milestone, *, due_on: dt.date, event: str, notes: str,
                     acting_role: Role, change_note: str | None = None) -> bool:
    """Change a timeline milestone's date, event, notes or acting role."""
    return _change_row(actor, release, milestone, {
        "due_on": due_on, "event": event.strip(), "notes": notes.strip(), "acting_role": acting_role,
    }, change_note, "rid.milestone_changed", f"Milestone '{milestone.event}'")


def update_criterion(actor, release: Release, criterion: Criterion, *, text: str, owner_role: Role,
                     change_note: str | None = None) -> bool:
    """Change an acceptance criterion's wording or owner (not once withdrawn: that is the record)."""
    if criterion.withdrawn_at is not None:
        raise Conflict(f"Criterion {criterion.number} is withdrawn, so it cannot be changed.")
    return _change_row(actor, release, criterion, {"text": text.strip(), "owner_role": owner_role},
                       change_note, "rid.criterion_changed", f"Criterion {criterion.number}")


def update_cost_item(actor, release: Release, item: CostItem, *, party: str, description: str, amount_pence: int,
                     qualifier: str | None = None, already_budgeted: bool | None = None,
                     change_note: str | None = None) -> bool:
    """Change a cost item's party, description or amount (and, when given, its qualifier and budgeting)."""
    if amount_pence < 0:
        raise Invalid("A cost cannot be negative.")
    if qualifier is not None and qualifier not in ("estimated", "around", "fixed"):
        raise Invalid("Choose how firm the amount is.")
    changes = {"party": party, "description": description.strip(), "amount_pence": amount_pence}
    if qualifier is not None:
        changes["qualifier"] = qualifier
    if already_budgeted is not None:
        changes["already_budgeted"] = already_budgeted
    return _change_row(actor, release, item, changes, change_note, "rid.cost_changed", f"{item.party} cost")


def update_impact_summary(actor, release: Release, summary: ImpactSummary, *, text: str,
                          change_note: str | None = None) -> bool:
    """Change the text of one impact summary."""
    return _change_row(actor, release, summary, {"text": text.strip()}, change_note,
                       "rid.impact_summary_changed", f"Impact summary for {summary.subject}")


def _set_ticks(actor, release: Release, model, fixed: dict[str, int], free_key: str, wanted: set[int],
               change_note: str | None, action: str, label: str) -> bool:
    """Make one row of an impact matrix tick exactly `wanted`."""
    _check_rid_edit(actor, release, change_note)
    rows = db.session.scalars(sa.select(model).filter_by(release_id=release.id, **fixed)).all()
    current = {getattr(r, free_key) for r in rows}
    if current == wanted:
        return False
    for row in rows:
        if getattr(row, free_key) not in wanted:
            db.session.delete(row)
    for key in sorted(wanted - current):
        db.session.add(model(release_id=release.id, **fixed, **{free_key: key}))
    db.session.flush()
    db.session.expire(release)
    record_event(actor, action, f"{label} changed", release=release,
                 before={**fixed, free_key: sorted(current)}, after={**fixed, free_key: sorted(wanted)},
                 note=(change_note or "").strip())
    record_rid_change(actor, release, change_note)
    return True


def set_participant_impacts(actor, release: Release, entry: ScopeEntry, group_ids: set[int],
                            change_note: str | None = None) -> bool:
    """Tick exactly these participant groups for one modification."""
    known = set(db.session.scalars(sa.select(ParticipantGroup.id)))
    if not group_ids <= known:
        raise Invalid("Choose participant groups from the list.")
    return _set_ticks(actor, release, ParticipantImpact, {"mp_id": entry.mp_id}, "group_id", group_ids,
                      change_note, "rid.participant_impacts_changed",
                      f"Participant impacts of {entry.mp.reference}")


def set_document_impacts(actor, release: Release, document: SecDocument, mp_ids: set[int],
                         change_note: str | None = None) -> bool:
    """Tick exactly these modifications for one SEC document."""
    in_scope = {e.mp_id for e in release.scope}
    if not mp_ids <= in_scope:
        raise Invalid("Choose modifications that are in this release's scope.")
    return _set_ticks(actor, release, DocumentImpact, {"document_id": document.id}, "mp_id", mp_ids,
                      change_note, "rid.document_impacts_changed", f"Document impacts on {document.name}")


def add_criterion(actor, release: Release, *, text: str, owner_role: Role,
                  change_note: str | None = None) -> Criterion:
    """Add an acceptance criterion, numbered after the last one."""
    _check_rid_edit(actor, release, change_note)
    number = (db.session.scalar(sa.select(sa.func.max(Criterion.number))
                                .where(Criterion.release_id == release.id)) or 0) + 1
    criterion = Criterion(release_id=release.id, number=number, text=text.strip(), owner_role=owner_role)
    db.session.add(criterion)
    db.session.flush()
    db.session.expire(release)
    record_event(actor, "rid.criterion_added", f"Criterion {number} added", obj=criterion, release=release,
                 after={"number": number, "text": criterion.text, "owner_role": str(owner_role)},
                 note=(change_note or "").strip())
    record_rid_change(actor, release, change_note)
    return criterion


def add_milestone(actor, release: Release, *, kind: MilestoneKind, due_on: dt.date, event: str, notes: str,
                  acting_role: Role, change_note: str | None = None) -> Milestone:
    """Add a milestone to the implementation timeline."""
    _check_rid_edit(actor, release, change_note)
    milestone = Milestone(release_id=release.id, kind=kind, due_on=due_on, event=event.strip(),
                          notes=notes.strip(), acting_role=acting_role,
                          position=next_position(Milestone, release_id=release.id))
    db.session.add(milestone)
    db.session.flush()
    db.session.expire(release)
    record_event(actor, "rid.milestone_added", f"Milestone '{milestone.event}' added", obj=milestone,
                 release=release, after={"kind": str(kind), "due_on": due_on.isoformat(), "event": milestone.event,
                                         "notes": milestone.notes, "acting_role": str(acting_role)},
                 note=(change_note or "").strip())
    record_rid_change(actor, release, change_note)
    return milestone
