"""My tasks for OpsG: criteria awaiting assessment in OpsG review, answered evidence requests."""
from __future__ import annotations

import sqlalchemy as sa

from ..access import Role
from ..evidence.services import criterion_path
from ..extensions import db
from ..releases.models import MilestoneKind, Release, Stage
from ..tasks import Task
from .models import Assessment, EvidenceRequest, RequestState


def assessment_tasks(user) -> list[Task]:
    if user.role != Role.OPSG:
        return []
    tasks = []
    releases = db.session.scalars(sa.select(Release).where(Release.stage.in_((Stage.EVIDENCE,
                                                                               Stage.OPSG_REVIEW)))).all()
    for release in releases:
        review_by = next((m.due_on for m in release.milestones if m.kind == MilestoneKind.OPSG_REVIEW), None)
        if release.stage == Stage.OPSG_REVIEW:
            finals = set(db.session.scalars(sa.select(Assessment.criterion_id).where(
                Assessment.release_id == release.id, Assessment.is_current_final)))
            for criterion in release.criteria:
                if criterion.id not in finals:
                    tasks.append(Task(f"Assess criterion {criterion.number}", criterion_path(criterion),
                                      release.name, review_by, criterion.text[:200]))
        answered = db.session.scalars(sa.select(EvidenceRequest).where(
            EvidenceRequest.release_id == release.id, EvidenceRequest.state == RequestState.ANSWERED)).all()
        for request in answered:
            tasks.append(Task(f"Review the answer on criterion {request.criterion.number}",
                              criterion_path(request.criterion), release.name, review_by,
                              "Close the request or ask again."))
    return tasks
