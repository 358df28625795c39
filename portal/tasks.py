"""My tasks: every action the process waits on that the user may take now, across the releases in progress.

The tasks are the action table's (`workflow.tasks_of`); this module only gathers them over many releases with a
fixed number of queries, dates them by the release's timeline, and sorts them.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from .access import Role
from .extensions import db
from .notices.models import Notice
from .decisions.models import Ballot, Condition, ConfirmationKind, Decision, GoLiveConfirmation, Recommendation, Vote, VoteMember
from .queries import (ReleaseFacts, current_finals, criteria_with_evidence, due_on, submitted_roles,
                      unclosed_requests)
from .releases.models import Criterion, Milestone, MilestoneKind, Release, Stage
from .workflow import ACTIONS, Offer, tasks_of

# Which timeline date a task is due by (an evidence request has its own answer-by date).
DUE_BY = {
    "baseline": MilestoneKind.BASELINE,
    "upload_evidence": MilestoneKind.EVIDENCE, "submit_evidence": MilestoneKind.EVIDENCE,
    "assess_final": MilestoneKind.OPSG_REVIEW, "close_request": MilestoneKind.OPSG_REVIEW,
    "record_recommendation": MilestoneKind.OPSG_REVIEW,
    "open_vote": MilestoneKind.PANEL_DECISION, "cast_ballot": MilestoneKind.PANEL_DECISION,
    "close_vote": MilestoneKind.PANEL_DECISION, "record_decision": MilestoneKind.PANEL_DECISION,
    "confirm_readiness": MilestoneKind.GO_LIVE, "confirm_sec_implemented": MilestoneKind.GO_LIVE,
    "confirm_deployment": MilestoneKind.GO_LIVE,
    "mark_condition_met": MilestoneKind.GO_LIVE, "accept_condition": MilestoneKind.GO_LIVE,
}
ORDER = {action.name: n for n, action in enumerate(ACTIONS)}


@dataclass(frozen=True)
class Task:
    title: str
    url: str
    release_name: str
    due_on: dt.date | None = None
    detail: str = ""
    order: tuple = ()


def _task(release: Release, offer: Offer, user) -> Task:
    subject = offer.subject
    if offer.action.on == "request":
        due, detail = subject.due_on, subject.question[:200]
    else:
        kind = DUE_BY.get(offer.name)
        due, detail = (due_on(release, kind) if kind else None), ""
    if offer.action.on == "seat" and subject.member_id != user.id:
        detail = f"As alternate for {subject.member.name}"
    number = getattr(getattr(subject, "criterion", subject), "number", 0) if subject is not None else 0
    return Task(offer.label, offer.url, release.name, due, detail, (ORDER[offer.name], number))


@functools.cache
def _stages_of(role: Role) -> frozenset[Stage]:
    """The stages where `role` has a step the process can wait on (only those can be tasks)."""
    return frozenset(stage for action in ACTIONS if role in action.roles and action.is_step
                     for stage in action.stages)


def _stages_for(user) -> frozenset[Stage]:
    return _stages_of(user.role)


def _load(releases: list[Release], name: str, model, order_by) -> None:
    """Fill one relationship of these releases in one query (a selectin load for only the releases that need it)."""
    rows: dict[int, list] = {r.id: [] for r in releases}
    for row in db.session.scalars(sa.select(model).where(model.release_id.in_(list(rows))).order_by(*order_by))\
            if rows else ():
        rows[row.release_id].append(row)
    for release in releases:
        set_committed_value(release, name, rows[release.id])


def batched_facts(releases: list[Release], user) -> list[ReleaseFacts]:
    """Facts for many releases in a fixed number of queries: each fact is loaded, for all the releases at once,
    only where the user's actions in the release's stage can read it."""
    stages = _stages_for(user)
    ids_at = lambda *wanted: [r.id for r in releases if r.stage in wanted and r.stage in stages]  # noqa: E731
    gathering = ids_at(Stage.EVIDENCE, Stage.OPSG_REVIEW, Stage.DEFERRED)
    # Only the steps on criteria read them, and those are open only while evidence is gathered and reviewed.
    _load([r for r in releases if r.id in gathering], "criteria", Criterion, (Criterion.number,))
    finals = current_finals(gathering) if gathering else {}
    evidence_ids = ids_at(Stage.EVIDENCE, Stage.OPSG_REVIEW)
    with_evidence = criteria_with_evidence(evidence_ids) if evidence_ids else set()
    requests = unclosed_requests(evidence_ids) if evidence_ids else {}
    submitted = submitted_roles([r for r in releases if r.id in evidence_ids]) if evidence_ids else {}
    # Only the chairs' steps read the recommendation and the vote, and only the go-live confirmations the decisions:
    # elsewhere they are left to load lazily (which a guard of another role would never ask for).
    review_ids = ids_at(Stage.OPSG_REVIEW) if user.role in (Role.OPSG, Role.PANEL) else []
    recommendations = {r.release_id: r for r in db.session.scalars(sa.select(Recommendation).where(
        Recommendation.release_id.in_(review_ids), Recommendation.is_current))} if review_ids else {}
    vote_ids = ids_at(Stage.OPSG_REVIEW, Stage.PANEL_VOTE) if user.role == Role.PANEL else []
    votes = {v.release_id: v for v in db.session.scalars(sa.select(Vote).where(Vote.release_id.in_(vote_ids))
             .options(selectinload(Vote.members).selectinload(VoteMember.member)))} if vote_ids else {}
    open_votes = [v.id for r in releases if r.stage == Stage.PANEL_VOTE and (v := votes.get(r.id))]
    ballots: dict[int, list[Ballot]] = {}
    for ballot in db.session.scalars(sa.select(Ballot).where(Ballot.vote_id.in_(open_votes), Ballot.is_current))\
            if open_votes else ():
        ballots.setdefault(ballot.vote_id, []).append(ballot)
    decided_ids = ids_at(Stage.APPROVED) if user.role in (Role.SECAS, Role.DCC) else []
    decisions: dict[int, list[Decision]] = {}
    for decision in db.session.scalars(sa.select(Decision).where(Decision.release_id.in_(decided_ids))
                                       .order_by(Decision.round.desc())) if decided_ids else ():
        decisions.setdefault(decision.release_id, []).append(decision)
    latest = [d[0].id for release_id, d in decisions.items()]
    confirmations: dict[int, dict] = {}
    for confirmation in db.session.scalars(sa.select(GoLiveConfirmation).where(
            GoLiveConfirmation.decision_id.in_(latest))) if latest else ():
        confirmations.setdefault(confirmation.decision_id, {})[ConfirmationKind(confirmation.kind)] = confirmation
    # The conditions of each release's current recommendation (the owners mark them met, OpsG accepts them, the
    # Panel chair may waive them, and the go-live confirmations wait on them).
    condition_ids = ids_at(Stage.OPSG_REVIEW, Stage.PANEL_VOTE, Stage.APPROVED)
    conditions: dict[int, list[Condition]] = {release_id: [] for release_id in condition_ids}
    for condition in db.session.scalars(
            sa.select(Condition).join(Recommendation, Recommendation.id == Condition.recommendation_id)
            .join(Release, Release.id == Recommendation.release_id)
            .where(Recommendation.release_id.in_(condition_ids), Recommendation.is_current,
                   Recommendation.round == Release.round).order_by(Condition.number)) if condition_ids else ():
        conditions[condition.release_id].append(condition)
    # Publishing a Live release's go-live notice waits on SECAS: every Live release's notice, in one query.
    live_ids = ids_at(Stage.LIVE)
    notices = {n.release_id: n for n in db.session.scalars(sa.select(Notice).where(Notice.release_id.in_(live_ids)))
               } if live_ids else {}
    result = []
    for release in releases:
        known = {}
        if release.id in gathering:
            known["finals"] = {k: a for k, a in finals.items() if a.release_id == release.id}
        if release.id in evidence_ids:
            known.update(with_evidence=with_evidence, submitted=submitted[release.id],
                         requests={k: r for k, r in requests.items() if r.release_id == release.id})
        if release.id in review_ids:
            known["recommendation"] = next((r for r in [recommendations.get(release.id)]
                                            if r is not None and r.round == release.round), None)
        if release.id in vote_ids:
            vote = votes.get(release.id)
            known["vote"] = vote if vote is not None and vote.round == release.round else None
            known["ballots"] = ballots.get(vote.id, []) if known["vote"] else []
        if release.id in decided_ids:
            known["decisions"] = decisions.get(release.id, [])
            if known["decisions"]:
                known["confirmations"] = confirmations.get(known["decisions"][0].id, {})
        if release.id in condition_ids:
            known["conditions"] = conditions[release.id]
        if release.id in live_ids:
            known["notice"] = notices.get(release.id)
        result.append(ReleaseFacts(release, **known))
    return result


def _offers_for(user) -> list[tuple[Release, Offer]]:
    """Every (release, step) waiting for `user`, in release order."""
    # Only releases at a stage where the user's role has a step can hold one of their tasks.
    releases = list(db.session.scalars(sa.select(Release).where(Release.stage.in_(_stages_for(user)))
                                       .order_by(Release.code)))
    return [(facts.release, offer) for facts in batched_facts(releases, user) for offer in tasks_of(facts, user)]


def tasks_for(user) -> list[Task]:
    """Everything waiting for `user`, soonest first; criteria in number order."""
    found = _offers_for(user)
    # The timeline dates the tasks: read only for the releases that have one.
    _load(list({release.id: release for release, _ in found}.values()), "milestones", Milestone,
          (Milestone.due_on, Milestone.position))
    tasks = [_task(release, offer, user) for release, offer in found]
    tasks.sort(key=lambda t: (t.due_on or dt.date.max, t.release_name, t.order))
    return tasks


def count_tasks(user) -> int:
    """How many tasks tasks_for(user) lists, without dating or describing them (the header's count)."""
    return len(_offers_for(user))
