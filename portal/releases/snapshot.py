"""The whole RID of a release as plain data, as it stands now: what each RID version keeps, what the release page
and the RID documents render (through rid_view). Reads the release's tables only."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..extensions import db
from .models import ParticipantGroup, Release, SecDocument


def participant_groups() -> list[ParticipantGroup]:
    """The participant impact matrix's columns, shared by every RID, in their order."""
    return list(db.session.scalars(sa.select(ParticipantGroup).order_by(ParticipantGroup.position,
                                                                        ParticipantGroup.id)))


def sec_documents() -> list[SecDocument]:
    """The SEC document impact matrix's rows, shared by every RID, in their order."""
    return list(db.session.scalars(sa.select(SecDocument).order_by(SecDocument.position, SecDocument.id)))


def rid_snapshot(release: Release) -> dict[str, Any]:
    """The whole RID as plain data, as it stands now (kept with each version from baselining on)."""
    return {
        "release": {"code": release.code, "name": release.name, "planned_go_live": release.planned_go_live.isoformat(),
                    "notes": {k: getattr(release, k) for k in (
                        "about", "approved_mps_note", "targeted_mps_note", "change_requests_note",
                        "document_impacts_note", "other_codes_note", "test_strategy_note",
                        "user_testing_note", "dcc_costs_note", "secas_costs_note")}},
        "scope": [{"id": e.id, "mp_id": e.mp_id, "mp": e.mp.reference, "title": e.mp.title, "url": e.mp.url,
                   "status": str(e.status),
                   "cutoff_date": e.cutoff_date.isoformat() if e.cutoff_date else None,
                   "summary": e.summary, "moved_to": e.moved_to.code if e.moved_to else None,
                   "moved_to_name": e.moved_to.name if e.moved_to else None}
                  for e in release.scope],
        "change_requests": [{"id": c.id, "reference": c.reference, "title": c.title} for c in release.change_requests],
        # The matrices' columns and rows, so a snapshot shows its matrices without the live tables.
        "participant_groups": [{"id": g.id, "name": g.name} for g in participant_groups()],
        "sec_documents": [{"id": d.id, "name": d.name, "title": d.title} for d in sec_documents()],
        "participant_impacts": sorted([p.mp_id, p.group_id] for p in release.participant_impacts),
        "impact_summaries": [{"id": s.id, "kind": s.kind, "subject": s.subject, "text": s.text}
                             for s in release.impact_summaries],
        "document_impacts": sorted([d.mp_id, d.document_id] for d in release.document_impacts),
        "other_code_impacts": [{"id": o.id, "code": o.code, "description": o.description}
                               for o in release.other_code_impacts],
        "milestones": [{"id": m.id, "kind": str(m.kind), "due_on": m.due_on.isoformat(), "event": m.event,
                        "notes": m.notes, "acting_role": str(m.acting_role)} for m in release.milestones],
        "test_phases": [{"id": t.id, "phase": t.phase, "name": t.name, "applies": t.applies, "reason": t.reason}
                        for t in release.test_phases],
        "cost_items": [{"id": c.id, "party": c.party, "description": c.description, "amount_pence": c.amount_pence,
                        "already_budgeted": c.already_budgeted, "qualifier": c.qualifier} for c in release.cost_items],
        # "withdrawn" only on a withdrawn criterion, so that the RID versions stored before withdrawal existed
        # compare equal to today's for every other criterion.
        "criteria": [{"id": c.id, "number": c.number, "text": c.text, "owner_role": str(c.owner_role),
                      **({"withdrawn": True} if c.withdrawn_at is not None else {})} for c in release.criteria],
        "glossary": [{"id": g.id, "acronym": g.acronym, "term": g.term} for g in release.glossary],
    }
