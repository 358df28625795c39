"""RID versions and snapshots; the rules for who may change a release's RID and when."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ..access import Conflict, Invalid, PermissionDenied, Role
from ..audit.services import record_event
from ..extensions import db
from ..timeutil import today
from .models import Release, RidVersion, Stage

# After these stages the RID is a closed record.
RID_LOCKED_STAGES = frozenset({Stage.LIVE})


def rid_snapshot(release: Release) -> dict[str, Any]:
    """The whole RID as plain data, as it stands now (kept with each version from baselining on)."""
    return {
        "release": {"code": release.code, "name": release.name, "planned_go_live": release.planned_go_live.isoformat(),
                    "notes": {k: getattr(release, k) for k in (
                        "about", "approved_mps_note", "targeted_mps_note", "change_requests_note",
                        "document_impacts_note", "other_codes_note", "test_strategy_note",
                        "user_testing_note", "dcc_costs_note", "secas_costs_note")}},
        "scope": [{"mp": e.mp.reference, "title": e.mp.title, "url": e.mp.url, "status": str(e.status),
                   "cutoff_date": e.cutoff_date.isoformat() if e.cutoff_date else None,
                   "summary": e.summary, "moved_to": e.moved_to.code if e.moved_to else None}
                  for e in release.scope],
        "change_requests": [{"reference": c.reference, "title": c.title} for c in release.change_requests],
        "participant_impacts": sorted([p.mp_id, p.group_id] for p in release.participant_impacts),
        "impact_summaries": [{"kind": s.kind, "subject": s.subject, "text": s.text} for s in release.impact_summaries],
        "document_impacts": sorted([d.mp_id, d.document_id] for d in release.document_impacts),
        "other_code_impacts": [{"code": o.code, "description": o.description} for o in release.other_code_impacts],
        "milestones": [{"kind": str(m.kind), "due_on": m.due_on.isoformat(), "event": m.event, "notes": m.notes,
                        "acting_role": str(m.acting_role)} for m in release.milestones],
        "test_phases": [{"phase": t.phase, "name": t.name, "applies": t.applies, "reason": t.reason}
                        for t in release.test_phases],
        "cost_items": [{"party": c.party, "description": c.description, "amount_pence": c.amount_pence,
                        "already_budgeted": c.already_budgeted} for c in release.cost_items],
        "criteria": [{"number": c.number, "text": c.text, "owner_role": str(c.owner_role)} for c in release.criteria],
        "glossary": [{"acronym": g.acronym, "term": g.term} for g in release.glossary],
    }


def can_edit_rid(release: Release, user) -> bool:
    return user.role == Role.SECAS and release.stage not in RID_LOCKED_STAGES


def check_can_edit_rid(release: Release, user) -> None:
    if user.role != Role.SECAS:
        raise PermissionDenied("Only SECAS can change the RID.")
    if release.stage in RID_LOCKED_STAGES:
        raise Conflict("The release is live: its RID can no longer change.")


def needs_change_note(release: Release) -> bool:
    """Once baselined, every change makes a new RID version with a change note."""
    return release.is_baselined


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
    return version


def record_rid_change(actor, release: Release, change_note: str | None) -> RidVersion | None:
    """Called by every RID edit after it changes the data: a new version once baselined, none in draft."""
    if needs_change_note(release):
        return add_rid_version(actor, release, change_note or "")
    return None
