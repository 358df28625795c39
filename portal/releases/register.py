"""The modification register: every modification and its history across releases, from the scope entries."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..queries import ReleaseFacts
from ..timeutil import uk_date
from ..workflow import may
from .models import ModificationProposal, Release, ScopeEntry, ScopeStatus, Stage


@dataclass
class RegisterRow:
    mp: ModificationProposal
    history: list[str] = field(default_factory=list)
    moves: list[tuple[ScopeEntry, Release]] = field(default_factory=list)  # where the reader may move it from


def _line(entry: ScopeEntry) -> str:
    release = entry.release
    if entry.status == ScopeStatus.MOVED:
        return f"Moved from {release.name} to {entry.moved_to.name if entry.moved_to else 'another release'}"
    if entry.status == ScopeStatus.WITHDRAWN:
        return f"Withdrawn from {release.name}"
    if release.stage == Stage.LIVE:
        return f"Implemented when {release.name} went live (planned go-live {uk_date(release.planned_go_live)})"
    return f"{entry.status.value.capitalize()} in {release.name} (planned go-live {uk_date(release.planned_go_live)})"


PER_PAGE = 50  # the register grows by every release's modifications, so it is paged


def mp_register(user, page: int = 1) -> tuple[list[RegisterRow], bool]:
    """One page of modifications (by reference), each with a line per release it has been in, earliest go-live
    first, and whether a later page follows: two queries whatever the number of releases."""
    mps = db.session.scalars(sa.select(ModificationProposal).order_by(ModificationProposal.reference)
                             .offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    more, mps = len(mps) > PER_PAGE, mps[:PER_PAGE]
    entries = db.session.scalars(
        sa.select(ScopeEntry).join(Release, ScopeEntry.release_id == Release.id)
        .where(ScopeEntry.mp_id.in_([mp.id for mp in mps]))
        .options(joinedload(ScopeEntry.release), joinedload(ScopeEntry.moved_to))
        .order_by(Release.planned_go_live, Release.id)).all()
    rows = {mp.id: RegisterRow(mp) for mp in mps}
    facts: dict[int, ReleaseFacts] = {}
    for entry in entries:
        row = rows[entry.mp_id]
        row.history.append(_line(entry))
        release_facts = facts.setdefault(entry.release_id, ReleaseFacts(entry.release))
        if may("move_modification", release_facts, user, entry):
            row.moves.append((entry, entry.release))
    return list(rows.values()), more
