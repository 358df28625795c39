"""The RID as it stands now, kept on the release row (`Release.rid_live`) so the release page renders it from one
column instead of thirteen tables.

Nothing has to remember to refresh it: after every flush the session notes which releases' RID data changed (a RID
row added, changed or removed, a RID field of the release, or the shared MPs, participant groups and SEC documents
the RID shows), and just before the commit those releases get a fresh `rid_snapshot()`, in the same transaction as
the change, with the release rows locked so that two writers rebuild one after the other (`refresh`). Bulk SQL that
bypasses the ORM (bench/generate.py) must fill the column itself; a release whose column is empty is shown from its
tables.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import orm as so
from sqlalchemy.orm import selectinload

from ..extensions import db
from .models import (ChangeRequest, CostItem, Criterion, DocumentImpact, GlossaryTerm, ImpactSummary, Milestone,
                     ModificationProposal, OtherCodeImpact, ParticipantGroup, ParticipantImpact, Release, ScopeEntry,
                     SecDocument, TestPhase)
from .snapshot import rid_snapshot

# Rows that belong to one release's RID, by their release_id.
RID_ROWS = (ScopeEntry, ChangeRequest, ParticipantImpact, ImpactSummary, DocumentImpact, OtherCodeImpact, Milestone,
            TestPhase, CostItem, Criterion, GlossaryTerm)
# The release's collections that rid_snapshot() reads, besides the scope (and its "moved to" releases).
SECTIONS = ("change_requests", "participant_impacts", "impact_summaries", "document_impacts", "other_code_impacts",
            "milestones", "test_phases", "cost_items", "criteria", "glossary")
# Columns of the release itself that the RID shows (rid_snapshot()["release"]).
RID_COLUMNS = ("code", "name", "planned_go_live", "about", "approved_mps_note", "targeted_mps_note",
               "change_requests_note", "document_impacts_note", "other_codes_note", "test_strategy_note",
               "user_testing_note", "dcc_costs_note", "secas_costs_note")
STALE = "rid_live_stale"  # session.info key


def _stale(session: so.Session) -> dict:
    return session.info.setdefault(STALE, {"releases": set(), "mps": set(), "moved_to": set(), "all": False})


def _note_deletions(session: so.Session, flush_context, instances) -> None:
    # Before the flush, while a deleted row can still be read.
    stale = _stale(session)
    for obj in session.deleted:
        if isinstance(obj, RID_ROWS):
            stale["releases"].add(obj.release_id)
        elif isinstance(obj, ModificationProposal):
            stale["mps"].add(obj.id)
        elif isinstance(obj, (ParticipantGroup, SecDocument)):
            stale["all"] = True


def _note_changes(session: so.Session, flush_context) -> None:
    # After the flush, when new rows have their ids and foreign keys.
    stale = _stale(session)
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, RID_ROWS):
            stale["releases"].add(obj.release_id)
            # A row moved to another release changes both.
            stale["releases"].update(v for v in sa.inspect(obj).attrs.release_id.history.deleted if v is not None)
        elif isinstance(obj, Release):
            state = sa.inspect(obj)
            if obj in session.new or any(state.attrs[c].history.has_changes() for c in RID_COLUMNS):
                stale["releases"].add(obj.id)
            if state.attrs.code.history.has_changes():
                stale["moved_to"].add(obj.id)  # other RIDs name it in "Moved to ..."
        elif isinstance(obj, ModificationProposal) and obj not in session.new:
            stale["mps"].add(obj.id)
        elif isinstance(obj, (ParticipantGroup, SecDocument)):
            stale["all"] = True  # every RID lists them (rare: reference data)


def _refresh(session: so.Session) -> None:
    session.flush()  # so the last changes are noted too (a no-op when nothing is pending)
    stale = session.info.pop(STALE, None)
    if not stale or not any(stale.values()):  # every flush notes, most of them nothing about a RID
        return
    if stale["all"]:
        ids = set(session.scalars(sa.select(Release.id)))
    else:
        ids = set(stale["releases"])
        if stale["mps"] or stale["moved_to"]:
            ids.update(session.scalars(sa.select(ScopeEntry.release_id).where(sa.or_(
                ScopeEntry.mp_id.in_(stale["mps"]), ScopeEntry.moved_to_id.in_(stale["moved_to"])))))
        ids.discard(None)
    refresh(sorted(ids))
    session.info.pop(STALE, None)  # the refresh's own flush notes nothing new


def rid_sections() -> list:
    """Loader options for every RID section of a release, one query each whatever the number of rows."""
    return [selectinload(Release.scope).selectinload(ScopeEntry.moved_to),
            *(selectinload(getattr(Release, key)) for key in SECTIONS)]


def refresh(release_ids: list[int], chunk: int = 200) -> None:
    """Set each release's rid_live from its tables (also `flask portal refresh-rid` and bench/generate.py).

    The releases are locked first (SELECT ... FOR UPDATE, in id order; on SQLite a writer holds the whole database),
    so two transactions that change one RID at the same time rebuild it one after the other, and the later one reads
    the earlier one's committed rows: every section is read again (populate_existing), whatever this transaction had
    loaded before the lock.
    """
    db.session.flush()
    release_ids = sorted(release_ids)
    for start in range(0, len(release_ids), chunk):
        releases = db.session.scalars(
            sa.select(Release).where(Release.id.in_(release_ids[start:start + chunk])).order_by(Release.id)
            .with_for_update(of=Release).options(*rid_sections()).execution_options(populate_existing=True))
        for release in releases:
            release.rid_live = rid_snapshot(release)


def _forget(session: so.Session, transaction: so.SessionTransaction) -> None:
    # Only when the whole transaction ends: a savepoint rolled back inside it leaves the outer changes to refresh.
    if transaction.parent is None:
        session.info.pop(STALE, None)


LISTENERS = (("before_flush", _note_deletions), ("after_flush", _note_changes), ("before_commit", _refresh),
             ("after_transaction_end", _forget))


def init_app(app) -> None:
    """Keep every release's stored RID in step with its tables, at every commit (named in create_app)."""
    for identifier, listener in LISTENERS:
        if not sa.event.contains(db.session, identifier, listener):  # the session is shared by every app
            sa.event.listen(db.session, identifier, listener)
