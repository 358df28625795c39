"""The release calendar as a month grid: every release's milestones on their days, Monday to Sunday."""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..releases.models import Milestone, Release
from ..timeutil import DATE_MAX, DATE_MIN, is_working_day, today

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Entry:
    release_code: str
    release_name: str
    event: str
    who: str


@dataclass(frozen=True)
class Day:
    day: dt.date
    in_month: bool
    working: bool
    entries: list[Entry]


def parse_month(text: str | None) -> dt.date:
    """'2021-02' → 1 February 2021; anything else (or a month outside the portal's dates) → this month."""
    match = MONTH_RE.match(text or "")
    if match and 1 <= int(match[2]) <= 12:
        first = dt.date(int(match[1]), int(match[2]), 1)
        if DATE_MIN <= first <= DATE_MAX:
            return first
    return today().replace(day=1)


def shift(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_grid(first: dt.date) -> list[list[Day]]:
    """The weeks of `first`'s month, each day with the milestones of every release due on it (one query)."""
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    start, end = weeks[0][0], weeks[-1][-1]
    rows = db.session.execute(
        sa.select(Milestone, Release.code, Release.name).join(Release, Milestone.release_id == Release.id)
        .where(Milestone.due_on.between(start, end))
        .order_by(Milestone.due_on, Release.planned_go_live, Release.id, Milestone.position)).all()
    by_day: dict[dt.date, list[Entry]] = {}
    for milestone, code, name in rows:
        by_day.setdefault(milestone.due_on, []).append(Entry(code, name, milestone.event, milestone.acting_role.label))
    return [[Day(day, day.month == first.month, is_working_day(day), by_day.get(day, [])) for day in week]
            for week in weeks]
