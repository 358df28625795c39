"""My tasks for the criteria owners (DCC, SECAS): evidence to provide, requests to answer, submission due."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ..access import Role
from ..criteria.models import EvidenceRequest, RequestState
from ..extensions import db
from ..releases.models import Criterion, Release, Stage
from ..tasks import Task
from . import services

OPEN_STAGES = (Stage.EVIDENCE, Stage.OPSG_REVIEW, Stage.DEFERRED)


def evidence_tasks(user, releases: list[Release]) -> list[Task]:
    if user.role not in services.OWNING_ROLES:
        return []
    tasks = []
    # A fixed number of queries however many releases are open: missing evidence, open requests and the
    # submission checks are each loaded for all of them at once.
    releases = [release for release in releases if release.stage in OPEN_STAGES]
    ids = [release.id for release in releases]
    missing: dict[int, list[Criterion]] = {}
    for criterion in services.criteria_missing_evidence_in(ids, user.role):
        missing.setdefault(criterion.release_id, []).append(criterion)
    requests: dict[int, list[EvidenceRequest]] = {}
    for request in db.session.scalars(sa.select(EvidenceRequest).join(Criterion).where(
            EvidenceRequest.release_id.in_(ids), EvidenceRequest.state == RequestState.OPEN,
            Criterion.owner_role == user.role).options(contains_eager(EvidenceRequest.criterion))):
        requests.setdefault(request.release_id, []).append(request)
    # Nothing missing is the usual reason submission waits, so the full check runs only for the others.
    complete = [release for release in releases if release.stage == Stage.EVIDENCE and not missing.get(release.id)]
    blockers = services.why_role_cannot_submit_in(complete, user.role, missing) if complete else {}
    for release in releases:
        deadline = services.evidence_deadline(release)
        for criterion in missing.get(release.id, []) if release.stage == Stage.EVIDENCE else []:
            tasks.append(Task(f"Add evidence for criterion {criterion.number}",
                              services.criterion_path(criterion), release.name, deadline,
                              "Upload a file or write a statement of why none is needed."))
        if release.id in blockers and blockers[release.id] is None:
            verb = "Confirm" if user.role == Role.SECAS else "Submit"
            tasks.append(Task(f"{verb} {user.role.label} evidence", f"/releases/{release.code}/criteria",
                              release.name, deadline))
        for request in requests.get(release.id, []):
            tasks.append(Task(f"Answer OpsG's evidence request on criterion {request.criterion.number}",
                              services.criterion_path(request.criterion), release.name, request.due_on,
                              request.question[:200]))
    return tasks
