"""My tasks: gathered from each part of the workflow, one provider each: provider(user) -> list[Task]."""
from __future__ import annotations

import datetime as dt

from flask import has_request_context, request

from ..criteria.tasks import assessment_tasks
from ..decisions.tasks import decision_tasks
from ..evidence.tasks import evidence_tasks
from ..tasks import Task

PROVIDERS = (decision_tasks, evidence_tasks, assessment_tasks)


def tasks_for(user) -> list[Task]:
    # Kept for the request: the header's count and the My tasks page ask for the same list.
    cached = getattr(request, "portal_tasks", None) if has_request_context() else None
    if cached and cached[0] == user.id:
        return cached[1]
    tasks = [task for provider in PROVIDERS for task in provider(user)]
    tasks = sorted(tasks, key=lambda t: (t.due_on or dt.date.max, t.release_name, t.title))
    if has_request_context():
        request.portal_tasks = (user.id, tasks)
    return tasks
