"""SECAS writes the whole RID: adding, removing and reordering each section's rows, and each section's narrative.

Every function here checks `edit_rid` (through `_check_rid_edit`), writes its audit event in the same transaction
and issues a new RID version once the RID is baselined (`record_rid_change`), as the edits in services.py do.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import sqlalchemy as sa

from ..access import Conflict, Invalid, Role
from ..audit.services import record_event
from ..criteria.evidence_models import EvidenceFile, EvidenceStatement
from ..criteria.models import Assessment, EvidenceRequest
from ..criteria.services import has_records
from ..database import next_position
from ..decisions.models import ReassessmentMark
from ..extensions import db
from ..notifications.models import Reminder
from ..timeutil import uk_date, utcnow
from ..workflow import require
from .models import (ChangeRequest, CostItem, Criterion, DocumentImpact, GlossaryTerm, ImpactSummary, Milestone,
                     MilestoneKind, ModificationProposal, OtherCodeImpact, ParticipantGroup, ParticipantImpact,
                     Release, ScopeEntry, ScopeStatus, SecDocument, TestPhase)
from .services import (IN_SCOPE, _change_row, _check_rid_edit, _plain, issue_rid_versions, record_rid_change,
                       record_rid_edit, scope_conflict)
from .snapshot import participant_groups, sec_documents

# The statuses a modification can be added to a scope with ("moved" is what an entry becomes later).
ADDABLE_STATUSES = (ScopeStatus.APPROVED, ScopeStatus.TARGETED, ScopeStatus.WITHDRAWN)

# The narrative text of each section: the Release column and what the form calls it.
NARRATIVES = {
    "about": "About this document",
    "approved_mps_note": "Approved modifications: narrative",
    "targeted_mps_note": "Targeted modifications: narrative",
    "change_requests_note": "DCC Change Requests: narrative",
    "document_impacts_note": "SEC document impacts: narrative",
    "other_codes_note": "Other Code impacts: narrative",
    "test_strategy_note": "Test strategy: narrative (for example, what is outside TAG's remit)",
    "user_testing_note": "User testing: narrative",
    "dcc_costs_note": "DCC costs: narrative",
    "secas_costs_note": "SECAS costs: narrative",
}


def _note(change_note: str | None) -> str:
    return (change_note or "").strip()


def _added(actor, release: Release, row, change_note: str | None, action: str, label: str,
           after: dict[str, Any], *, shared: bool = False) -> Any:
    """Store a new RID row, audit it and issue a version once baselined (`shared`: in every RID it changes)."""
    db.session.add(row)
    db.session.flush()
    db.session.expire(release)
    releases = record_rid_edit(actor, release, action, f"{label} added", change_note, shared=shared, obj=row,
                               after={k: _plain(v) for k, v in after.items()})
    issue_rid_versions(actor, releases, change_note)
    return row


def _removed(actor, release: Release, row, change_note: str | None, action: str, label: str,
             before: dict[str, Any], *, shared: bool = False) -> None:
    """Delete a RID row, audit it and issue a version once baselined (`shared`: in every RID it changes)."""
    releases = record_rid_edit(actor, release, action, f"{label} removed", change_note, shared=shared, obj=row,
                               before={k: _plain(v) for k, v in before.items()})
    db.session.delete(row)
    db.session.flush()
    db.session.expire(release)
    issue_rid_versions(actor, releases, change_note)


def _moved(actor, release: Release, rows, row, direction: str, change_note: str | None, action: str,
           label: str, among: Callable[[Any], Any] | None = None, *, shared: bool = False) -> bool:
    """Move `row` one place up or down among `rows` (the whole table, in its RID order), or among those of them that
    share its `among` key: the list the RID shows it in. Refused (409) at either end, so nothing changes."""
    _check_rid_edit(actor, release, change_note, shared=shared)
    if direction not in ("up", "down"):
        raise Invalid("Choose to move the row up or down.")
    rows = list(rows)
    shown = [r for r in rows if among is None or among(r) == among(row)]
    index = shown.index(row)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(shown):
        raise Conflict(f"{label} is already {'first' if direction == 'up' else 'last'} in its list, so it cannot "
                       f"move {direction}. Reload the page to see the order as it stands.")
    before = [r.id for r in shown]
    # Swapped within the whole table, so the other lists keep their places and every position stays distinct.
    i, j = rows.index(row), rows.index(shown[other])
    rows[i], rows[j] = rows[j], rows[i]
    for position, item in enumerate(rows):
        item.position = position
    db.session.flush()
    db.session.expire(release)
    releases = record_rid_edit(actor, release, action, f"{label} moved {direction}", change_note, shared=shared,
                               obj=row, before={"order": before}, after={"order": [r.id for r in rows if r in shown]})
    issue_rid_versions(actor, releases, change_note)
    return True


def _required(value: str | None, message: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(message, field)
    return value


# --- 1. Scope ----------------------------------------------------------------------------------------

def check_cutoff(release: Release, status: ScopeStatus, cutoff_date: dt.date | None) -> None:
    if status == ScopeStatus.TARGETED and cutoff_date is None:
        raise Invalid("Enter the decision cut-off date: a targeted modification needs one", "cutoff_date")
    if cutoff_date is not None and cutoff_date > release.planned_go_live:
        raise Invalid(f"The decision cut-off date must be on or before the planned go-live, "
                      f"{uk_date(release.planned_go_live)}", "cutoff_date")


def add_scope_entry(actor, release: Release, *, reference: str, title: str = "", url: str = "",
                    status: ScopeStatus, cutoff_date: dt.date | None, summary: str,
                    change_note: str | None = None) -> ScopeEntry:
    """Add a modification to the release's scope by its reference (an existing one, or a new one with its title
    and link; an alternative such as MP122A is a reference of its own)."""
    _check_rid_edit(actor, release, change_note)
    reference = _required(reference, "Enter the modification's reference, like MP122", "reference").upper()
    summary = _required(summary, "Enter a one-line summary", "summary")
    if status not in ADDABLE_STATUSES:
        raise Invalid("Choose approved, targeted or withdrawn", "status")
    check_cutoff(release, status, cutoff_date)
    mp = db.session.scalar(sa.select(ModificationProposal).where(
        sa.func.upper(ModificationProposal.reference) == reference))
    if mp is None:
        title = _required(title, f"Enter the title of {reference}: it is not yet in the portal", "title")
        mp = ModificationProposal(reference=reference, title=title, url=(url or "").strip())
        db.session.add(mp)
        db.session.flush()
    else:
        if any(e.mp_id == mp.id for e in release.scope):
            raise Invalid(f"{mp.reference} is already in this release's scope", "reference")
        other = scope_conflict(mp, release)
        if other is not None:
            raise Invalid(f"{mp.reference} is already {other.status.value} in the {other.release.name}: "
                          f"move it from there first", "reference")
    entry = ScopeEntry(release_id=release.id, mp_id=mp.id, status=status, cutoff_date=cutoff_date,
                       summary=summary, position=next_position(ScopeEntry, release_id=release.id))
    return _added(actor, release, entry, change_note, "rid.scope_added", f"Scope entry {mp.reference}", {
        "mp": mp.reference, "status": status, "cutoff_date": cutoff_date, "summary": summary})


def scope_references(release: Release, entry: ScopeEntry) -> list[str]:
    """What else in the RID refers to this entry's modification (the impact matrices)."""
    found = []
    if db.session.scalar(sa.select(sa.func.count()).select_from(ParticipantImpact).filter_by(
            release_id=release.id, mp_id=entry.mp_id)):
        found.append("the participant impact matrix")
    if db.session.scalar(sa.select(sa.func.count()).select_from(DocumentImpact).filter_by(
            release_id=release.id, mp_id=entry.mp_id)):
        found.append("the SEC document impact matrix")
    return found


def remove_scope_entry(actor, release: Release, entry: ScopeEntry, change_note: str | None = None) -> None:
    """Take a modification out of the scope: only when nothing else in the RID refers to it."""
    _check_rid_edit(actor, release, change_note)
    references = scope_references(release, entry)
    if references:
        raise Conflict(f"{entry.mp.reference} cannot be removed: {' and '.join(references)} still tick it. "
                       f"Untick it there first, or mark it withdrawn instead.")
    _removed(actor, release, entry, change_note, "rid.scope_removed", f"Scope entry {entry.mp.reference}", {
        "mp": entry.mp.reference, "status": entry.status, "cutoff_date": entry.cutoff_date,
        "summary": entry.summary})


def _scope_list(entry: ScopeEntry) -> str:
    """Which of the RID's scope lists shows the entry: approved, targeted, or withdrawn and moved."""
    return entry.status.value if entry.status in IN_SCOPE else "out"


def move_scope_entry(actor, release: Release, entry: ScopeEntry, direction: str,
                     change_note: str | None = None) -> bool:
    """Move an entry up or down within the list the RID shows it in."""
    return _moved(actor, release, release.scope, entry, direction, change_note, "rid.scope_moved",
                  f"Scope entry {entry.mp.reference}", among=_scope_list)


# --- 2. DCC Change Requests --------------------------------------------------------------------------

def _check_reference_free(release: Release, model, reference: str, row=None, what: str = "",
                          field: str = "reference") -> None:
    column = getattr(model, field)
    clash = db.session.scalar(sa.select(model).where(model.release_id == release.id,
                                                     sa.func.upper(column) == reference.upper()))
    if clash is not None and clash is not row:
        raise Invalid(f"{what} {reference} is already in this RID", field)


def add_change_request(actor, release: Release, *, reference: str, title: str,
                       change_note: str | None = None) -> ChangeRequest:
    _check_rid_edit(actor, release, change_note)
    reference = _required(reference, "Enter the Change Request's reference, like CR1234", "reference")
    title = _required(title, "Enter the Change Request's title", "title")
    _check_reference_free(release, ChangeRequest, reference, what="Change Request")
    row = ChangeRequest(release_id=release.id, reference=reference, title=title,
                        position=next_position(ChangeRequest, release_id=release.id))
    return _added(actor, release, row, change_note, "rid.change_request_added", f"Change Request {reference}",
                  {"reference": reference, "title": title})


def update_change_request(actor, release: Release, row: ChangeRequest, *, reference: str, title: str,
                          change_note: str | None = None) -> bool:
    reference = _required(reference, "Enter the Change Request's reference, like CR1234", "reference")
    title = _required(title, "Enter the Change Request's title", "title")
    _check_reference_free(release, ChangeRequest, reference, row, what="Change Request")
    return _change_row(actor, release, row, {"reference": reference, "title": title}, change_note,
                       "rid.change_request_changed", f"Change Request {row.reference}")


def remove_change_request(actor, release: Release, row: ChangeRequest, change_note: str | None = None) -> None:
    _check_rid_edit(actor, release, change_note)
    _removed(actor, release, row, change_note, "rid.change_request_removed", f"Change Request {row.reference}",
             {"reference": row.reference, "title": row.title})


def move_change_request(actor, release: Release, row: ChangeRequest, direction: str,
                        change_note: str | None = None) -> bool:
    return _moved(actor, release, release.change_requests, row, direction, change_note,
                  "rid.change_request_moved", f"Change Request {row.reference}")


# --- 3. Glossary -------------------------------------------------------------------------------------

def _check_acronym_free(release: Release, acronym: str, row=None) -> None:
    # The database's unique constraint (release, acronym) is the rule; this gives it words before the insert.
    clash = db.session.scalar(sa.select(GlossaryTerm).filter_by(release_id=release.id, acronym=acronym))
    if clash is not None and clash is not row:
        raise Invalid(f"{acronym} is already in the glossary: change its entry instead", "acronym")


def add_glossary_term(actor, release: Release, *, acronym: str, term: str,
                      change_note: str | None = None) -> GlossaryTerm:
    _check_rid_edit(actor, release, change_note)
    acronym = _required(acronym, "Enter the acronym", "acronym")
    term = _required(term, "Enter the full term", "term")
    _check_acronym_free(release, acronym)
    row = GlossaryTerm(release_id=release.id, acronym=acronym, term=term,
                       position=next_position(GlossaryTerm, release_id=release.id))
    return _added(actor, release, row, change_note, "rid.glossary_added", f"Glossary entry {acronym}",
                  {"acronym": acronym, "term": term})


def update_glossary_term(actor, release: Release, row: GlossaryTerm, *, acronym: str, term: str,
                         change_note: str | None = None) -> bool:
    acronym = _required(acronym, "Enter the acronym", "acronym")
    term = _required(term, "Enter the full term", "term")
    _check_acronym_free(release, acronym, row)
    return _change_row(actor, release, row, {"acronym": acronym, "term": term}, change_note,
                       "rid.glossary_changed", f"Glossary entry {row.acronym}")


def remove_glossary_term(actor, release: Release, row: GlossaryTerm, change_note: str | None = None) -> None:
    _check_rid_edit(actor, release, change_note)
    _removed(actor, release, row, change_note, "rid.glossary_removed", f"Glossary entry {row.acronym}",
             {"acronym": row.acronym, "term": row.term})


def move_glossary_term(actor, release: Release, row: GlossaryTerm, direction: str,
                       change_note: str | None = None) -> bool:
    return _moved(actor, release, release.glossary, row, direction, change_note, "rid.glossary_moved",
                  f"Glossary entry {row.acronym}")


# --- 4. Other Code impacts, impact summaries, the matrices' rows and columns ------------------------

def add_other_code_impact(actor, release: Release, *, code: str, description: str,
                          change_note: str | None = None) -> OtherCodeImpact:
    _check_rid_edit(actor, release, change_note)
    code = _required(code, "Enter the Code impacted", "code")
    description = _required(description, "Enter how the Code is impacted", "description")
    row = OtherCodeImpact(release_id=release.id, code=code, description=description,
                          position=next_position(OtherCodeImpact, release_id=release.id))
    return _added(actor, release, row, change_note, "rid.other_code_added", f"Impact on {code}",
                  {"code": code, "description": description})


def update_other_code_impact(actor, release: Release, row: OtherCodeImpact, *, code: str, description: str,
                             change_note: str | None = None) -> bool:
    code = _required(code, "Enter the Code impacted", "code")
    description = _required(description, "Enter how the Code is impacted", "description")
    return _change_row(actor, release, row, {"code": code, "description": description}, change_note,
                       "rid.other_code_changed", f"Impact on {row.code}")


def remove_other_code_impact(actor, release: Release, row: OtherCodeImpact, change_note: str | None = None) -> None:
    _check_rid_edit(actor, release, change_note)
    _removed(actor, release, row, change_note, "rid.other_code_removed", f"Impact on {row.code}",
             {"code": row.code, "description": row.description})


def move_other_code_impact(actor, release: Release, row: OtherCodeImpact, direction: str,
                           change_note: str | None = None) -> bool:
    return _moved(actor, release, release.other_code_impacts, row, direction, change_note,
                  "rid.other_code_moved", f"Impact on {row.code}")


def add_impact_summary(actor, release: Release, *, kind: str, subject: str, text: str,
                       change_note: str | None = None) -> ImpactSummary:
    _check_rid_edit(actor, release, change_note)
    if kind not in ("party", "dcc"):
        raise Invalid("Choose SEC Party or DCC impacts", "kind")
    subject = _required(subject, "Enter who or what is impacted", "subject")
    text = _required(text, "Enter the summary of impacts", "text")
    # After the last summary of the same subject, so the RID's groups stay together; else at the end.
    same = [s for s in release.impact_summaries if s.kind == kind and s.subject == subject]
    if same:
        position = same[-1].position + 1
        for s in release.impact_summaries:
            if s.position >= position:
                s.position += 1
    else:
        position = next_position(ImpactSummary, release_id=release.id)
    row = ImpactSummary(release_id=release.id, kind=kind, subject=subject, text=text, position=position)
    return _added(actor, release, row, change_note, "rid.impact_summary_added", f"Impact summary for {subject}",
                  {"kind": kind, "subject": subject, "text": text})


def remove_impact_summary(actor, release: Release, row: ImpactSummary, change_note: str | None = None) -> None:
    _check_rid_edit(actor, release, change_note)
    _removed(actor, release, row, change_note, "rid.impact_summary_removed", f"Impact summary for {row.subject}",
             {"kind": row.kind, "subject": row.subject, "text": row.text})


def move_impact_summary(actor, release: Release, row: ImpactSummary, direction: str,
                        change_note: str | None = None) -> bool:
    """Move a summary within its table: the summaries of its kind (SEC Party or DCC) and subject."""
    return _moved(actor, release, release.impact_summaries, row, direction, change_note,
                  "rid.impact_summary_moved", f"Impact summary for {row.subject}",
                  among=lambda s: (s.kind, s.subject))


# The matrices' columns (participant groups) and rows (SEC documents) are shared by every release's RID: they are
# changed from one release's RID, and the change (`shared=True`) needs a change note once any release whose RID it
# changes is baselined, and issues a new version, with that note, in each of them (services.rid_releases).

def _check_name_free(model, name: str, what: str, row=None) -> None:
    clash = db.session.scalar(sa.select(model).where(sa.func.lower(model.name) == name.lower()))
    if clash is not None and clash is not row:
        raise Invalid(f"{name} is already {what}", "name")


def _check_unticked(model, key, row, label: str) -> None:
    """A shared column or row leaves the matrices only once no release's RID ticks it."""
    releases = list(db.session.scalars(sa.select(Release.name).join(model, model.release_id == Release.id)
                                       .where(key == row.id).distinct().order_by(Release.name)))
    if releases:
        raise Conflict(f"{label} cannot be removed: the impact matrix of {', '.join(releases)} still ticks it. "
                       f"Untick it there first.")


def add_participant_group(actor, release: Release, *, name: str,
                          change_note: str | None = None) -> ParticipantGroup:
    """A new column of every RID's participant impact matrix (a shared table), added from this release's RID."""
    _check_rid_edit(actor, release, change_note, shared=True)
    name = _required(name, "Enter the participant group's name", "name")
    _check_name_free(ParticipantGroup, name, "a participant group")
    return store_participant_group(actor, release, name, change_note)


def store_participant_group(actor, release: Release, name: str, change_note: str | None) -> ParticipantGroup:
    """Store a new participant group (the caller has checked the edit and the name), audited and versioned in every
    baselined RID it changes, as any change to the shared axes is; the RID importer adds its new ones here too."""
    return _added(actor, release, ParticipantGroup(name=name, position=next_position(ParticipantGroup)), change_note,
                  "rid.participant_group_added", f"Participant group {name}", {"name": name}, shared=True)


def update_participant_group(actor, release: Release, row: ParticipantGroup, *, name: str,
                             change_note: str | None = None) -> bool:
    """Rename a column of every RID's participant impact matrix."""
    name = _required(name, "Enter the participant group's name", "name")
    _check_name_free(ParticipantGroup, name, "a participant group", row)
    return _change_row(actor, release, row, {"name": name}, change_note, "rid.participant_group_changed",
                       f"Participant group {row.name}", shared=True)


def remove_participant_group(actor, release: Release, row: ParticipantGroup, change_note: str | None = None) -> None:
    _check_rid_edit(actor, release, change_note, shared=True)
    _check_unticked(ParticipantImpact, ParticipantImpact.group_id, row, f"The participant group {row.name}")
    _removed(actor, release, row, change_note, "rid.participant_group_removed", f"Participant group {row.name}",
             {"name": row.name}, shared=True)


def move_participant_group(actor, release: Release, row: ParticipantGroup, direction: str,
                           change_note: str | None = None) -> bool:
    """Move a column of every RID's participant impact matrix left (up) or right (down)."""
    return _moved(actor, release, participant_groups(), row, direction, change_note,
                  "rid.participant_group_moved", f"Participant group {row.name}", shared=True)


def add_sec_document(actor, release: Release, *, name: str, title: str,
                     change_note: str | None = None) -> SecDocument:
    """A new row of every RID's SEC document impact matrix (a shared table), added from this release's RID."""
    _check_rid_edit(actor, release, change_note, shared=True)
    name = _required(name, "Enter the document's name, like Section H", "name")
    title = _required(title, "Enter the document's title", "title")
    _check_name_free(SecDocument, name, "an SEC document")
    return store_sec_document(actor, release, name, title, change_note)


def store_sec_document(actor, release: Release, name: str, title: str, change_note: str | None) -> SecDocument:
    """Store a new SEC document (checked by the caller), audited and versioned in every baselined RID it changes."""
    row = SecDocument(name=name, title=title, position=next_position(SecDocument))
    return _added(actor, release, row, change_note,
                  "rid.sec_document_added", f"SEC document {name}", {"name": name, "title": title}, shared=True)


def update_sec_document(actor, release: Release, row: SecDocument, *, name: str, title: str,
                        change_note: str | None = None) -> bool:
    """Rename a row of every RID's SEC document impact matrix, or change its title."""
    name = _required(name, "Enter the document's name, like Section H", "name")
    title = _required(title, "Enter the document's title", "title")
    _check_name_free(SecDocument, name, "an SEC document", row)
    return _change_row(actor, release, row, {"name": name, "title": title}, change_note,
                       "rid.sec_document_changed", f"SEC document {row.name}", shared=True)


def remove_sec_document(actor, release: Release, row: SecDocument, change_note: str | None = None) -> None:
    _check_rid_edit(actor, release, change_note, shared=True)
    _check_unticked(DocumentImpact, DocumentImpact.document_id, row, f"The SEC document {row.name}")
    _removed(actor, release, row, change_note, "rid.sec_document_removed", f"SEC document {row.name}",
             {"name": row.name, "title": row.title}, shared=True)


def move_sec_document(actor, release: Release, row: SecDocument, direction: str,
                      change_note: str | None = None) -> bool:
    return _moved(actor, release, sec_documents(), row, direction, change_note, "rid.sec_document_moved",
                  f"SEC document {row.name}", shared=True)


# --- 5. Test phases ----------------------------------------------------------------------------------

def add_test_phase(actor, release: Release, *, phase: str, name: str, applies: bool, reason: str,
                   change_note: str | None = None) -> TestPhase:
    _check_rid_edit(actor, release, change_note)
    phase = _required(phase, "Enter the phase's short name, like PIT", "phase").upper()
    name = _required(name, "Enter the phase's name", "name")
    _check_reference_free(release, TestPhase, phase, what="Test phase", field="phase")
    reason = (reason or "").strip()
    row = TestPhase(release_id=release.id, phase=phase, name=name, applies=applies, reason=reason,
                    position=next_position(TestPhase, release_id=release.id))
    return _added(actor, release, row, change_note, "rid.test_phase_added", f"Test phase {phase}",
                  {"phase": phase, "name": name, "applies": applies, "reason": reason})


def remove_test_phase(actor, release: Release, row: TestPhase, change_note: str | None = None) -> None:
    _check_rid_edit(actor, release, change_note)
    _removed(actor, release, row, change_note, "rid.test_phase_removed", f"Test phase {row.phase}",
             {"phase": row.phase, "name": row.name, "applies": row.applies, "reason": row.reason})


def update_test_phase(actor, release: Release, row: TestPhase, *, applies: bool, reason: str,
                      change_note: str | None = None) -> bool:
    return _change_row(actor, release, row, {"applies": applies, "reason": (reason or "").strip()}, change_note,
                       "rid.test_phase_changed", f"Test phase {row.phase}")


def move_test_phase(actor, release: Release, row: TestPhase, direction: str, change_note: str | None = None) -> bool:
    return _moved(actor, release, release.test_phases, row, direction, change_note, "rid.test_phase_moved",
                  f"Test phase {row.phase}")


# --- 6. Costs ----------------------------------------------------------------------------------------

def add_cost_item(actor, release: Release, *, party: str, description: str, amount_pence: int,
                  qualifier: str = "fixed", already_budgeted: bool = False,
                  change_note: str | None = None) -> CostItem:
    _check_rid_edit(actor, release, change_note)
    if party not in ("DCC", "SECAS"):
        raise Invalid("Choose who incurs the cost", "party")
    description = _required(description, "Enter what the cost is for", "description")
    if amount_pence is None or amount_pence < 0:
        raise Invalid("A cost cannot be negative.", "amount_pence")
    if qualifier not in ("estimated", "around", "fixed"):
        raise Invalid("Choose how firm the amount is", "qualifier")
    row = CostItem(release_id=release.id, party=party, description=description, amount_pence=amount_pence,
                   already_budgeted=already_budgeted, qualifier=qualifier,
                   position=next_position(CostItem, release_id=release.id))
    return _added(actor, release, row, change_note, "rid.cost_added", f"{party} cost", {
        "party": party, "description": description, "amount_pence": amount_pence,
        "already_budgeted": already_budgeted, "qualifier": qualifier})


def remove_cost_item(actor, release: Release, row: CostItem, change_note: str | None = None) -> None:
    _check_rid_edit(actor, release, change_note)
    _removed(actor, release, row, change_note, "rid.cost_removed", f"{row.party} cost", {
        "party": row.party, "description": row.description, "amount_pence": row.amount_pence})


def move_cost_item(actor, release: Release, row: CostItem, direction: str, change_note: str | None = None) -> bool:
    """Move a cost within its party's costs (the RID states each party's in a table of its own)."""
    return _moved(actor, release, release.cost_items, row, direction, change_note, "rid.cost_moved",
                  f"{row.party} cost", among=lambda c: c.party)


# --- 7. Criteria and milestones ----------------------------------------------------------------------

def criterion_references(criterion: Criterion) -> tuple[bool, bool]:
    """(has evidence, has other records: assessments, requests, decision marks)."""
    def any_of(model) -> bool:
        return bool(db.session.scalar(sa.select(sa.func.count()).select_from(model)
                                      .where(model.criterion_id == criterion.id)))
    evidence = any_of(EvidenceFile) or any_of(EvidenceStatement)
    return evidence, any(any_of(m) for m in (Assessment, EvidenceRequest, ReassessmentMark))


def answered_criteria(release: Release) -> set[int]:
    """The ids of the release's criteria that have any record against them, in one query: those are withdrawn,
    never removed."""
    return set(db.session.scalars(sa.select(Criterion.id).where(Criterion.release_id == release.id, has_records())))


def remove_criterion(actor, release: Release, criterion: Criterion, change_note: str | None = None) -> None:
    """Remove a criterion nobody has answered yet; the numbers of the others stay as the RID gave them."""
    _check_rid_edit(actor, release, change_note)
    evidence, other = criterion_references(criterion)
    if evidence or other:
        what = "has evidence" if evidence else "has been assessed or asked about"
        raise Conflict(f"Criterion {criterion.number} {what}, so it cannot be removed: withdraw it instead "
                       f"(its record stays).")
    _removed(actor, release, criterion, change_note, "rid.criterion_removed", f"Criterion {criterion.number}", {
        "number": criterion.number, "text": criterion.text, "owner_role": criterion.owner_role})


def withdraw_criterion(actor, release: Release, criterion: Criterion, reason: str) -> None:
    """Withdraw a criterion from the RID: it stays, marked withdrawn, with its evidence and assessments; the release
    no longer needs it (no task, no assessment, not counted for the recommendation). The reason is the audit note
    and, once baselined, the new RID version's change note. It cannot be undone (add a new criterion instead)."""
    require("edit_rid", release, actor)
    if not (reason or "").strip():  # always asked for, baselined or not: it is the record of why
        raise Invalid("Say why the criterion is withdrawn", "change_note")
    if criterion.withdrawn_at is not None:
        raise Conflict(f"Criterion {criterion.number} is already withdrawn.")
    criterion.withdrawn_at = utcnow()
    db.session.flush()
    db.session.expire(release)
    record_event(actor, "rid.criterion_withdrawn", f"Criterion {criterion.number} withdrawn", obj=criterion,
                 release=release, before={"number": criterion.number, "text": criterion.text,
                                          "owner_role": _plain(criterion.owner_role)}, note=_note(reason))
    record_rid_change(actor, release, reason)


def remove_milestone(actor, release: Release, milestone: Milestone, change_note: str | None = None) -> None:
    """Remove an 'other event' from the timeline; the workflow's own milestones can only change their date."""
    _check_rid_edit(actor, release, change_note)
    if MilestoneKind(milestone.kind) != MilestoneKind.OTHER:
        raise Conflict(f"'{milestone.event}' is a step of the release's workflow, so it cannot be removed: "
                       f"change its date instead.")
    db.session.execute(sa.delete(Reminder).where(Reminder.milestone_id == milestone.id))
    _removed(actor, release, milestone, change_note, "rid.milestone_removed", f"Milestone '{milestone.event}'", {
        "kind": milestone.kind, "due_on": milestone.due_on, "event": milestone.event,
        "acting_role": Role(milestone.acting_role)})


# --- 8. The narrative text of each section -----------------------------------------------------------

def update_narrative(actor, release: Release, field: str, text: str, change_note: str | None = None) -> bool:
    if field not in NARRATIVES:
        raise Invalid("That is not a narrative of the RID.")
    return _change_row(actor, release, release, {field: (text or "").strip()}, change_note,
                       "rid.narrative_changed", NARRATIVES[field].split(":")[0])
