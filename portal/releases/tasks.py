"""My tasks: gathered from each part of the workflow, one provider each: provider(user, releases) -> list[Task],
where `releases` are the releases in progress (loaded once, with their timelines, for every provider)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.orm import selectinload

from ..criteria.tasks import assessment_tasks
from ..decisions.tasks import decision_tasks
from ..evidence.tasks import evidence_tasks
from ..extensions import db
from ..tasks import Task
from .models import Release, Stage

PROVIDERS = (decision_tasks, evidence_tasks, assessment_tasks)
# Only these stages can have work waiting: drafts are SECAS's to edit, live releases are a closed record.
IN_PROGRESS = (Stage.EVIDENCE, Stage.OPSG_REVIEW, Stage.PANEL_VOTE, Stage.APPROVED, Stage.DEFERRED)


def tasks_for(user) -> list[Task]:
    # Kept for the request: the header's count and the My tasks page ask for the same list.
    cached = getattr(request, "portal_tasks", None) if has_request_context() else None
    if cached and cached[0] == user.id:
        return cached[1]
    releases = list(db.session.scalars(sa.select(Release).where(Release.stage.in_(IN_PROGRESS))
                                       .order_by(Release.code).options(selectinload(Release.milestones))))
    tasks = [task for provider in PROVIDERS for task in provider(user, releases)]
    tasks = sorted(tasks, key=lambda t: (t.due_on or dt.date.max, t.release_name, t.title))
    if has_request_context():
        request.portal_tasks = (user.id, tasks)
    return tasks
