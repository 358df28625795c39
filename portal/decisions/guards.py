"""Read-only queries about a release's decision rounds, and the workflow guards built on them."""
from __future__ import annotations

from types import EllipsisType

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..criteria.models import Assessment
from ..extensions import db
from ..releases.models import Criterion, Release
from .models import (CONFIRMATION_LABELS, ConfirmationKind, Decision, GoLiveConfirmation, Outcome,
                     ReassessmentMark, Recommendation, Vote, VoteMember, VoteState)


def current_round(release: Release, decisions: list[Decision] | None = None) -> int:
    """Round 1 until the first Panel decision; each decision starts the next round. `decisions` may pass the
    release's decisions when the caller has them already (decisions_of)."""
    if decisions is not None:
        return len(decisions) + 1
    decided = db.session.scalar(sa.select(sa.func.count(Decision.id)).where(Decision.release_id == release.id))
    return (decided or 0) + 1


def decisions_of(release: Release) -> list[Decision]:
    """Every Panel decision on the release, the latest first, with their signatures (a handful per release)."""
    return list(db.session.scalars(sa.select(Decision).where(Decision.release_id == release.id)
                                   .order_by(Decision.round.desc()).options(joinedload(Decision.signature))))


def current_recommendation(release: Release, round_: int | None = None) -> Recommendation | None:
    round_ = round_ or current_round(release)
    return db.session.scalar(sa.select(Recommendation).where(
        Recommendation.release_id == release.id, Recommendation.round == round_, Recommendation.is_current))


def latest_vote(release: Release) -> Vote | None:
    # The members and their users come with the vote: the tally and the ballot panel show every seat.
    return db.session.scalar(sa.select(Vote).where(Vote.release_id == release.id).order_by(Vote.round.desc()).limit(1)
                             .options(selectinload(Vote.members).options(joinedload(VoteMember.member),
                                                                         joinedload(VoteMember.alternate))))


def latest_decision(release: Release) -> Decision | None:
    return db.session.scalar(
        sa.select(Decision).where(Decision.release_id == release.id).order_by(Decision.round.desc()).limit(1))


def confirmations(decision: Decision | None) -> dict[ConfirmationKind, GoLiveConfirmation]:
    if decision is None:
        return {}
    rows = db.session.scalars(sa.select(GoLiveConfirmation).where(GoLiveConfirmation.decision_id == decision.id))
    return {ConfirmationKind(c.kind): c for c in rows}


def criteria_not_finally_assessed(release: Release) -> list[Criterion]:
    """The release's criteria without a current final OpsG assessment."""
    assessed = sa.select(Assessment.criterion_id).where(Assessment.is_current_final)
    return list(db.session.scalars(sa.select(Criterion).where(
        Criterion.release_id == release.id, Criterion.id.not_in(assessed)).order_by(Criterion.number)))


def all_criteria_finally_assessed(release: Release) -> bool:
    return bool(release.criteria) and not criteria_not_finally_assessed(release)


def criteria_needing_reassessment(release: Release, decision: Decision | None | EllipsisType = ...) -> list[Criterion]:
    """Criteria OpsG marked after the latest No-go that have no new final assessment yet. `decision` may pass the
    latest decision (or None) when the caller has it already."""
    if decision is ...:
        decision = latest_decision(release)
    if decision is None or decision.outcome != Outcome.NO_GO:
        return []
    marked = sa.select(ReassessmentMark.criterion_id).where(ReassessmentMark.decision_id == decision.id)
    return [c for c in criteria_not_finally_assessed(release) if c.id in set(db.session.scalars(marked))]


# --- The guards of the decision transitions (called from portal/releases/workflow.py) ---------------

def why_vote_cannot_open(release: Release) -> str | None:
    if current_recommendation(release) is None:
        return "OpsG has not recorded its recommendation yet."
    vote = latest_vote(release)
    if vote is not None and vote.round == current_round(release):
        return "The Panel vote for this round has already been opened."
    return None


def why_not_decided(release: Release, *, go: bool) -> str | None:
    vote = latest_vote(release)
    if vote is None or vote.state != VoteState.CLOSED:
        return "The chair has not closed the Panel vote yet."
    decision = db.session.scalar(sa.select(Decision).where(Decision.vote_id == vote.id))
    if decision is None:
        return "The chair has not recorded the Panel's decision yet."
    wanted = Outcome.GO if go else Outcome.NO_GO
    if decision.outcome != wanted:
        return f"The Panel decided {Outcome(decision.outcome).label}."
    return None


def why_not_live(release: Release) -> str | None:
    decision = latest_decision(release)
    if decision is None or decision.outcome != Outcome.GO:
        return "The Panel has not decided Go."
    missing = [CONFIRMATION_LABELS[k] for k in ConfirmationKind if k not in confirmations(decision)]
    if missing:
        return "Still waiting for: " + "; ".join(missing) + "."
    return None


def why_not_replanned(release: Release) -> str | None:
    decision = latest_decision(release)
    if decision is None or decision.outcome != Outcome.NO_GO:
        return "The Panel has not decided No-go."
    if release.planned_go_live == decision.planned_go_live:
        return "SECAS has not set a new go-live date yet."
    return None
