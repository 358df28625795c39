"""Read-only queries about where a release stands, for the action table's guards and the pages.

`ReleaseFacts` reads each fact at most once, when a guard or a page first asks for it, and for all of the
release's criteria at once: the queries a page issues do not grow with its rows. It depends on models only.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from .access import Role
from .criteria.models import Assessment, AssessmentStatus, EvidenceRequest, RequestState
from .decisions.models import (Ballot, Choice, Condition, ConfirmationKind, Decision, GoLiveConfirmation, Outcome,
                               Recommendation, Vote, VoteMember)
from .criteria.evidence_models import EvidenceFile, EvidenceStatement, EvidenceSubmission
from .extensions import db
from .notices.models import Notice
from .releases.models import Criterion, MilestoneKind, Release, Stage

# A final assessment with one of these results reopens by itself when the release is replanned.
FAILED = (AssessmentStatus.NOT_MET, AssessmentStatus.PARTIALLY_MET)


def latest_vote(release: Release) -> Vote | None:
    """The release's latest vote with its seats and their users (the tally and the ballot panel show every seat)."""
    return db.session.scalar(sa.select(Vote).where(Vote.release_id == release.id).order_by(Vote.round.desc())
                             .limit(1).options(selectinload(Vote.members).options(
                                 joinedload(VoteMember.member), joinedload(VoteMember.alternate))))


def current_ballots(vote: Vote) -> list[Ballot]:
    return list(db.session.scalars(sa.select(Ballot).where(Ballot.vote_id == vote.id, Ballot.is_current)
                                   .order_by(Ballot.id)))


@dataclass
class Tally:
    eligible: list[VoteMember]
    conflicted: list[VoteMember]
    voted_ids: set[int]
    counts: dict[Choice, int]
    quorum_needed: int
    has_quorum: bool
    outcome: Outcome | None

    @property
    def remaining(self) -> int:
        return len(self.eligible) - len(self.voted_ids)


def count_vote(vote: Vote, members: list[VoteMember] | None = None, ballots: list[Ballot] | None = None) -> Tally:
    """Apply the vote's rules to the current ballots (the outcome is None without quorum). `members` and `ballots`
    may pass what the caller loaded in this request."""
    if members is None:
        members = list(db.session.scalars(sa.select(VoteMember).where(VoteMember.vote_id == vote.id)
                                          .order_by(VoteMember.id)))
    eligible = [m for m in members if not m.is_conflicted]
    eligible_ids = {m.member_id for m in eligible}
    ballots = [b for b in (current_ballots(vote) if ballots is None else ballots) if b.member_id in eligible_ids]
    counts = {c: sum(1 for b in ballots if b.choice == c) for c in Choice}
    counted = len(ballots) if vote.abstentions_count_to_quorum else counts[Choice.GO] + counts[Choice.NO_GO]
    quorum_needed = len(eligible) // 2 + 1
    has_quorum = bool(eligible) and counted >= quorum_needed
    outcome = None
    if has_quorum:
        if counts[Choice.GO] != counts[Choice.NO_GO]:
            outcome = Outcome.GO if counts[Choice.GO] > counts[Choice.NO_GO] else Outcome.NO_GO
        else:
            chair = next((b for b in ballots if b.member_id == vote.chair_id), None)
            casting = vote.chair_has_casting_vote and chair is not None and chair.choice == Choice.GO
            outcome = Outcome.GO if casting else Outcome.NO_GO
    return Tally(eligible, [m for m in members if m.is_conflicted], {b.member_id for b in ballots}, counts,
                 quorum_needed, has_quorum, outcome)


def decisions_of(release: Release) -> list[Decision]:
    """Every Panel decision on the release, the latest first, with their signatures (a handful per release)."""
    return list(db.session.scalars(sa.select(Decision).where(Decision.release_id == release.id)
                                   .order_by(Decision.round.desc()).options(joinedload(Decision.signature))))


def confirmations_of(decision: Decision | None) -> dict[ConfirmationKind, GoLiveConfirmation]:
    if decision is None:
        return {}
    rows = db.session.scalars(sa.select(GoLiveConfirmation).where(GoLiveConfirmation.decision_id == decision.id)
                              .options(joinedload(GoLiveConfirmation.confirmed_by)))
    return {ConfirmationKind(c.kind): c for c in rows}


def current_finals(release_ids: list[int]) -> dict[int, Assessment]:
    """criterion id -> its current final assessment, for every criterion of these releases that has one."""
    rows = db.session.scalars(sa.select(Assessment).where(Assessment.release_id.in_(release_ids),
                                                          Assessment.is_current_final))
    return {a.criterion_id: a for a in rows}


def criteria_with_evidence(release_ids: list[int]) -> set[int]:
    """Criteria with a current file or a written statement from the release's current round (a reopened
    criterion needs new evidence)."""
    files = (sa.select(EvidenceFile.criterion_id).join(Release, Release.id == EvidenceFile.release_id)
             .where(EvidenceFile.release_id.in_(release_ids), EvidenceFile.withdrawn_at.is_(None),
                    EvidenceFile.round == Release.round))
    statements = (sa.select(EvidenceStatement.criterion_id).join(Criterion).join(Release)
                  .where(Criterion.release_id.in_(release_ids), EvidenceStatement.round == Release.round))
    return set(db.session.scalars(sa.union(files, statements)))


def unclosed_requests(release_ids: list[int]) -> dict[int, EvidenceRequest]:
    """criterion id -> its request that is not closed (at most one each, by a unique index)."""
    rows = db.session.scalars(sa.select(EvidenceRequest).where(EvidenceRequest.release_id.in_(release_ids),
                                                               EvidenceRequest.state != RequestState.CLOSED))
    return {r.criterion_id: r for r in rows}


def submitted_roles(releases: list[Release]) -> dict[int, set[Role]]:
    """release id -> the roles that have submitted their evidence in the release's current round."""
    rounds = {r.id: r.round for r in releases}
    rows = db.session.execute(sa.select(EvidenceSubmission.release_id, EvidenceSubmission.role,
                                        EvidenceSubmission.review_round)
                              .where(EvidenceSubmission.release_id.in_(list(rounds))))
    done: dict[int, set[Role]] = {release_id: set() for release_id in rounds}
    for release_id, role, round_ in rows:
        if round_ == rounds[release_id]:
            done[release_id].add(Role(role))
    return done


def due_on(release: Release, kind: MilestoneKind):
    return next((m.due_on for m in release.milestones if m.kind == kind), None)


class ReleaseFacts:
    """What the guards of the action table read about one release, each fact loaded once, when first asked."""

    def __init__(self, release: Release, **known):
        self.release = release
        # A batched caller (My tasks) passes facts it loaded for many releases at once.
        self.__dict__.update(known)

    @property
    def round(self) -> int:
        return self.release.round

    @property
    def stage(self):
        return self.release.stage

    @cached_property
    def criteria(self) -> list[Criterion]:
        """The criteria the release must meet (a withdrawn one is in the record but needs nothing more)."""
        return self.release.active_criteria

    @cached_property
    def finals(self) -> dict[int, Assessment]:
        return current_finals([self.release.id])

    @cached_property
    def final_ids(self) -> set[int]:
        """The criteria with a current final assessment (from `finals` when loaded; else only their ids, which is
        all that a fragment's "is it open?" needs)."""
        if "finals" in self.__dict__:
            return set(self.finals)
        return set(db.session.scalars(sa.select(Assessment.criterion_id).where(
            Assessment.release_id == self.release.id, Assessment.is_current_final)))

    @cached_property
    def with_evidence(self) -> set[int]:
        return criteria_with_evidence([self.release.id])

    @cached_property
    def requests(self) -> dict[int, EvidenceRequest]:
        return unclosed_requests([self.release.id])

    @cached_property
    def submitted(self) -> set[Role]:
        return submitted_roles([self.release])[self.release.id]

    @property
    def before_any_decision(self) -> bool:
        """Round 1 before the Panel has decided: no recommendation or decision can exist yet (saves the reads)."""
        return self.round == 1 and self.stage in (Stage.DRAFT, Stage.EVIDENCE, Stage.OPSG_REVIEW, Stage.PANEL_VOTE)

    @property
    def before_any_recommendation(self) -> bool:
        return self.before_any_decision and self.stage in (Stage.DRAFT, Stage.EVIDENCE)

    @cached_property
    def decisions(self) -> list[Decision]:
        return [] if self.before_any_decision else decisions_of(self.release)

    @property
    def decision(self) -> Decision | None:
        """The latest Panel decision (of this round, or of the round a replan ended)."""
        return self.decisions[0] if self.decisions else None

    @property
    def round_decision(self) -> Decision | None:
        decision = self.decision
        return decision if decision is not None and decision.round == self.round else None

    @cached_property
    def recommendation(self) -> Recommendation | None:
        return db.session.scalar(sa.select(Recommendation).where(
            Recommendation.release_id == self.release.id, Recommendation.round == self.round,
            Recommendation.is_current).options(joinedload(Recommendation.signature)))

    @cached_property
    def conditions(self) -> list[Condition]:
        """The conditions of this round's current recommendation, in their order."""
        recommendation = self.recommendation
        if recommendation is None or not recommendation.conditions:
            return []
        return list(recommendation.condition_rows)  # loaded with the recommendation where a page reads both

    def unsettled_conditions(self) -> list[Condition]:
        """The conditions neither accepted by OpsG nor waived by the Panel: go-live waits on them."""
        return [c for c in self.conditions if not c.is_settled]

    @cached_property
    def vote(self) -> Vote | None:
        """This round's vote, with its seats."""
        vote = latest_vote(self.release)
        return vote if vote is not None and vote.round == self.round else None

    @cached_property
    def ballots(self) -> list[Ballot]:
        return current_ballots(self.vote) if self.vote else []

    @cached_property
    def notice(self) -> Notice | None:
        """The go-live notice: there is one only once the release is Live (the release page loads it with the
        release; elsewhere this reads it)."""
        return self.release.notice if self.stage == Stage.LIVE else None

    @cached_property
    def confirmations(self) -> dict[ConfirmationKind, GoLiveConfirmation]:
        return confirmations_of(self.decision)

    # --- Derived, per criterion ---------------------------------------------------------------------

    def final(self, criterion: Criterion) -> Assessment | None:
        return self.finals.get(criterion.id)

    def is_open(self, criterion: Criterion) -> bool:
        """Open in this round: no current final assessment, so its evidence may change and OpsG assesses it."""
        return criterion.id not in self.final_ids

    def open_criteria(self, role: Role | None = None) -> list[Criterion]:
        return [c for c in self.criteria if self.is_open(c) and (role is None or c.owner_role == role)]

    def missing_evidence(self, role: Role) -> list[Criterion]:
        return [c for c in self.open_criteria(role) if c.id not in self.with_evidence]

    def roles_to_submit(self) -> list[Role]:
        """The owners of criteria open in this round, in the order DCC, SECAS."""
        owners = {c.owner_role for c in self.open_criteria()}
        return [role for role in (Role.DCC, Role.SECAS) if role in owners]

    def roles_waiting(self) -> list[Role]:
        return [role for role in self.roles_to_submit() if role not in self.submitted]

    def failed_finals(self) -> list[Criterion]:
        """Criteria whose final assessment was Not met or Partially met: they reopen by themselves at the replan."""
        return [c for c in self.criteria if c.id in self.finals and self.finals[c.id].status in FAILED]

    def reopening_at_replan(self) -> list[Criterion]:
        """While the release is Deferred, the criteria the replan will reopen by themselves."""
        return self.failed_finals() if self.stage == Stage.DEFERRED else []

    # --- Derived, the vote --------------------------------------------------------------------------

    def seats_of(self, user) -> list[VoteMember]:
        """Whom `user` may vote for now: themselves (unless conflicted or stood in for) and whoever appointed them."""
        if self.vote is None or user.role != Role.PANEL:
            return []
        return [m for m in self.vote.members if not m.is_conflicted and (
            (m.member_id == user.id and m.alternate_id is None) or m.alternate_id == user.id)]

    def own_seat(self, user) -> VoteMember | None:
        if self.vote is None:
            return None
        return next((m for m in self.vote.members if m.member_id == user.id), None)

    def has_ballot(self, member_id: int) -> bool:
        return any(b.member_id == member_id for b in self.ballots)

    @cached_property
    def tally(self) -> Tally | None:
        return count_vote(self.vote, self.vote.members, self.ballots) if self.vote else None

