"""My tasks for the criteria owners (DCC, SECAS): evidence to provide, requests to answer, submission due."""
from __future__ import annotations

import sqlalchemy as sa

from ..access import Role
from ..criteria.models import EvidenceRequest, RequestState
from ..extensions import db
from ..releases.models import Criterion, Release, Stage
from ..tasks import Task
from . import services

OPEN_STAGES = (Stage.EVIDENCE, Stage.OPSG_REVIEW, Stage.DEFERRED)


def evidence_tasks(user) -> list[Task]:
    if user.role not in services.OWNING_ROLES:
        return []
    tasks = []
    releases = db.session.scalars(sa.select(Release).where(Release.stage.in_(OPEN_STAGES))).all()
    for release in releases:
        deadline = services.evidence_deadline(release)
        if release.stage == Stage.EVIDENCE:
            for criterion in services.criteria_missing_evidence(release, user.role):
                tasks.append(Task(f"Add evidence for criterion {criterion.number}",
                                  services.criterion_path(criterion), release.name, deadline,
                                  "Upload a file or write a statement of why none is needed."))
            if services.why_role_cannot_submit(release, user.role) is None:
                verb = "Confirm" if user.role == Role.SECAS else "Submit"
                tasks.append(Task(f"{verb} {user.role.label} evidence", f"/releases/{release.code}/criteria",
                                  release.name, deadline))
        requests = db.session.scalars(sa.select(EvidenceRequest).join(Criterion).where(
            EvidenceRequest.release_id == release.id, EvidenceRequest.state == RequestState.OPEN,
            Criterion.owner_role == user.role)).all()
        for request in requests:
            tasks.append(Task(f"Answer OpsG's evidence request on criterion {request.criterion.number}",
                              services.criterion_path(request.criterion), release.name, request.due_on,
                              request.question[:200]))
    return tasks
