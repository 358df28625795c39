"""My tasks from the decision steps: Panel votes, the OpsG recommendation, go-live confirmations, re-planning."""
from __future__ import annotations

import sqlalchemy as sa

from ..access import Role
from ..extensions import db
from ..notifications.services import portal_path
from ..releases.models import MilestoneKind, Release, Stage
from ..tasks import Task
from .guards import current_recommendation, latest_vote
from .models import Ballot, VoteState
from .services import CONFIRMATION_ROLES, confirmations, latest_decision, seats


def _due(release: Release, kind: MilestoneKind):
    return next((m.due_on for m in release.milestones if m.kind == kind), None)


def decision_tasks(user, releases: list[Release]) -> list[Task]:
    """What is waiting for `user` in the decision steps."""
    tasks: list[Task] = []

    def _releases_at(stage: Stage) -> list[Release]:
        return [release for release in releases if release.stage == stage]

    if user.role == Role.PANEL:
        for release in _releases_at(Stage.PANEL_VOTE):
            vote = latest_vote(release)
            if vote is None or vote.state != VoteState.OPEN:
                continue
            for seat in seats(vote, user):
                voted = db.session.scalar(sa.select(Ballot.id).where(
                    Ballot.vote_id == vote.id, Ballot.member_id == seat.member_id, Ballot.is_current))
                if voted is None:
                    for_whom = "" if seat.member_id == user.id else f" for {seat.member.name}"
                    tasks.append(Task(f"Vote go/no-go{for_whom}", portal_path("decisions.vote", code=release.code),
                                      release.name, _due(release, MilestoneKind.PANEL_DECISION)))
    if user.role == Role.OPSG and user.is_chair:
        for release in _releases_at(Stage.OPSG_REVIEW):
            if current_recommendation(release) is None:
                tasks.append(Task("Record the OpsG recommendation",
                                  portal_path("decisions.recommendation", code=release.code), release.name,
                                  _due(release, MilestoneKind.OPSG_REVIEW)))
    if user.role in (Role.SECAS, Role.DCC):
        for release in _releases_at(Stage.APPROVED):
            done = confirmations(latest_decision(release))
            for kind, role in CONFIRMATION_ROLES.items():
                if role == user.role and kind not in done:
                    tasks.append(Task(f"Confirm: {kind.label}", portal_path("decisions.go_live", code=release.code),
                                      release.name, release.planned_go_live))
    if user.role == Role.SECAS:
        for release in _releases_at(Stage.DEFERRED):
            tasks.append(Task("Re-plan the deferred release: set a new go-live date",
                              portal_path("decisions.replan", code=release.code), release.name))
    return tasks
