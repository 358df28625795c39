"""My tasks for OpsG: criteria awaiting assessment in OpsG review, answered evidence requests."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..access import Role
from ..evidence.services import criterion_path
from ..extensions import db
from ..releases.models import Criterion, MilestoneKind, Release, Stage
from ..tasks import Task
from .models import Assessment, EvidenceRequest, RequestState


def assessment_tasks(user, releases: list[Release]) -> list[Task]:
    if user.role != Role.OPSG:
        return []
    releases = [release for release in releases if release.stage in (Stage.EVIDENCE, Stage.OPSG_REVIEW)]
    in_review = [release.id for release in releases if release.stage == Stage.OPSG_REVIEW]
    # Criteria without a current final assessment, and answered requests: one query each for all releases.
    has_final = sa.exists().where(Assessment.criterion_id == Criterion.id, Assessment.is_current_final)
    unassessed: dict[int, list[Criterion]] = {}
    for criterion in db.session.scalars(sa.select(Criterion).where(Criterion.release_id.in_(in_review), ~has_final)
                                        .order_by(Criterion.number)):
        unassessed.setdefault(criterion.release_id, []).append(criterion)
    answered: dict[int, list[EvidenceRequest]] = {}
    for request in db.session.scalars(sa.select(EvidenceRequest).where(
            EvidenceRequest.release_id.in_([release.id for release in releases]),
            EvidenceRequest.state == RequestState.ANSWERED)
            .options(joinedload(EvidenceRequest.criterion)).order_by(EvidenceRequest.id)):
        answered.setdefault(request.release_id, []).append(request)
    tasks = []
    for release in releases:
        review_by = next((m.due_on for m in release.milestones if m.kind == MilestoneKind.OPSG_REVIEW), None)
        for criterion in unassessed.get(release.id, []):
            tasks.append(Task(f"Assess criterion {criterion.number}", criterion_path(criterion),
                              release.name, review_by, criterion.text[:200]))
        for request in answered.get(release.id, []):
            tasks.append(Task(f"Review the answer on criterion {request.criterion.number}",
                              criterion_path(request.criterion), release.name, review_by,
                              "Close the request or ask again."))
    return tasks
