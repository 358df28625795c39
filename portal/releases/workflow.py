"""The release lifecycle as one table: each transition's stages, roles and guard, applied in one place."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa

from ..access import Conflict, PermissionDenied, Role
from ..audit.services import record_event
from ..decisions import guards as decision_guards
from ..extensions import db
from .models import Release, Stage

# A guard returns None when the transition may go ahead, else the reason why not yet.
Guard = Callable[[Release], str | None]


def _has_criteria_and_timeline(release: Release) -> str | None:
    if not release.criteria:
        return "The RID has no acceptance criteria yet."
    if not release.milestones:
        return "The RID has no implementation timeline yet."
    return None


def _always(_release: Release) -> str | None:
    return None


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    source: Stage
    target: Stage
    roles: frozenset[Role]
    guard: Guard = _always
    chair_only: bool = False
    # Automatic transitions are applied by a service as a consequence of another action
    # (the last evidence submission, the vote's close); they get no button of their own.
    automatic: bool = False


# --- Guards for the evidence stage (owned by portal/evidence) ---

def why_not_ready_for_review(release: Release) -> str | None:
    # Imported here because the evidence services themselves apply this transition.
    from ..evidence.services import roles_waiting_to_submit

    waiting = roles_waiting_to_submit(release)
    if waiting:
        return f"Waiting for {' and '.join(r.label for r in waiting)} to submit evidence."
    return None


# --- Guards for the decision stages (owned by portal/decisions) ---

why_vote_cannot_open = decision_guards.why_vote_cannot_open
why_not_decided = decision_guards.why_not_decided
why_not_live = decision_guards.why_not_live
why_not_replanned = decision_guards.why_not_replanned


TRANSITIONS: tuple[Transition, ...] = (
    Transition("baseline", "Baseline the RID", Stage.DRAFT, Stage.EVIDENCE,
               frozenset({Role.PANEL}), _has_criteria_and_timeline, chair_only=True),
    Transition("start_opsg_review", "Start OpsG review", Stage.EVIDENCE, Stage.OPSG_REVIEW,
               frozenset({Role.DCC, Role.SECAS}),
               why_not_ready_for_review, automatic=True),
    Transition("open_vote", "Open the Panel vote", Stage.OPSG_REVIEW, Stage.PANEL_VOTE,
               frozenset({Role.PANEL}), why_vote_cannot_open,
               chair_only=True, automatic=True),
    Transition("decide_go", "Record the Go decision", Stage.PANEL_VOTE, Stage.APPROVED,
               frozenset({Role.PANEL}), lambda r: why_not_decided(r, go=True),
               chair_only=True, automatic=True),
    Transition("decide_no_go", "Record the No-go decision", Stage.PANEL_VOTE, Stage.DEFERRED,
               frozenset({Role.PANEL}), lambda r: why_not_decided(r, go=False),
               chair_only=True, automatic=True),
    Transition("go_live", "Mark the release Live", Stage.APPROVED, Stage.LIVE,
               frozenset({Role.SECAS, Role.DCC}), why_not_live,
               automatic=True),
    Transition("replan", "Return to evidence gathering", Stage.DEFERRED, Stage.EVIDENCE,
               frozenset({Role.SECAS}), why_not_replanned, automatic=True),
)
BY_NAME = {t.name: t for t in TRANSITIONS}


def why_not(transition: Transition, release: Release, user) -> str | None:
    """Why `user` cannot make `transition` on `release` now, or None if they can."""
    if user.role not in transition.roles:
        return f"Only {' or '.join(r.label for r in sorted(transition.roles))} can do this."
    if transition.chair_only and not user.is_chair:
        return "Only the chair can do this."
    if release.stage != transition.source:
        return f"The release is at '{release.stage.label}', not '{transition.source.label}'."
    return transition.guard(release)


def transitions_from(stage: Stage) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == stage]


def apply_transition(release: Release, name: str, actor, *, note: str = "") -> Release:
    """Move the release along `name`, exactly once: a conditional update that only one request wins."""
    transition = BY_NAME[name]
    reason = why_not(transition, release, actor)
    if reason and actor.role not in transition.roles:
        raise PermissionDenied(reason)
    if reason:
        raise Conflict(reason)
    result = db.session.execute(
        sa.update(Release)
        .where(Release.id == release.id, Release.stage == transition.source)
        .values(stage=transition.target)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("Someone else has just moved this release on. Reload the page to see where it stands.")
    before = release.stage
    db.session.refresh(release, ["stage"])
    record_event(actor, f"release.{name}", f"{transition.label}: {before.label} → {release.stage.label}",
                 obj=release, release=release, before={"stage": str(before)},
                 after={"stage": str(release.stage)}, note=note)
    return release
