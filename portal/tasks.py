"""A task on someone's list: what is waiting, where it is done, by when."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    title: str
    url: str
    release_name: str
    due_on: dt.date | None = None
    detail: str = ""
