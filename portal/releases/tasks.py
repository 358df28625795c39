"""My tasks: gathered from each part of the workflow, one provider each: provider(user) -> list[Task]."""
from __future__ import annotations

import datetime as dt

from ..criteria.tasks import assessment_tasks
from ..decisions.tasks import decision_tasks
from ..evidence.tasks import evidence_tasks
from ..tasks import Task

PROVIDERS = (decision_tasks, evidence_tasks, assessment_tasks)


def tasks_for(user) -> list[Task]:
    tasks = [task for provider in PROVIDERS for task in provider(user)]
    return sorted(tasks, key=lambda t: (t.due_on or dt.date.max, t.release_name, t.title))
