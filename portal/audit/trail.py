"""Reading the audit trail: filtered, keyset-paged by id (fast with tens of thousands of events)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..access import Role
from ..auth.models import User
from ..extensions import db
from ..timeutil import UK
from .models import AuditEvent

PAGE_SIZE = 50


@dataclass
class TrailFilters:
    release_id: int | None = None
    person_id: int | None = None
    role: str | None = None
    action: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass
class TrailRow:
    event: AuditEvent
    role_label: str
    on_behalf_of: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    details: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class TrailPage:
    rows: list[TrailRow]
    newer_than: int | None  # cursor for the newer page, if there is one
    older_than: int | None  # cursor for the older page, if there is one


def _uk_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=UK).astimezone(dt.timezone.utc)


def _where(filters: TrailFilters) -> list:
    clauses = []
    if filters.release_id is not None:
        clauses.append(AuditEvent.release_id == filters.release_id)
    if filters.person_id is not None:
        clauses.append(sa.or_(AuditEvent.actor_id == filters.person_id,
                              AuditEvent.on_behalf_of_id == filters.person_id))
    if filters.role:
        clauses.append(AuditEvent.actor_role == filters.role)
    if filters.action:
        clauses.append(AuditEvent.action == filters.action)
    if filters.date_from:
        clauses.append(AuditEvent.occurred_at >= _uk_midnight(filters.date_from))
    if filters.date_to:
        clauses.append(AuditEvent.occurred_at < _uk_midnight(filters.date_to + dt.timedelta(days=1)))
    return clauses


def trail_page(filters: TrailFilters, *, before: int | None = None, after: int | None = None) -> TrailPage:
    """One page of events, newest first: older than `before`, or the page just newer than `after`."""
    where = _where(filters)
    query = sa.select(AuditEvent).where(*where)
    if after is not None:
        events = db.session.scalars(
            query.where(AuditEvent.id > after).order_by(AuditEvent.id).limit(PAGE_SIZE + 1)).all()
        has_newer = len(events) > PAGE_SIZE
        events = list(reversed(events[:PAGE_SIZE]))
        has_older = True
    else:
        if before is not None:
            query = query.where(AuditEvent.id < before)
        events = db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)).all()
        has_older = len(events) > PAGE_SIZE
        events = events[:PAGE_SIZE]
        has_newer = before is not None and events and db.session.scalar(
            sa.select(sa.exists().where(*where, AuditEvent.id > events[0].id)))
    return TrailPage(
        rows=_rows(events),
        newer_than=events[0].id if events and has_newer else None,
        older_than=events[-1].id if events and has_older else None,
    )


def _rows(events: list[AuditEvent]) -> list[TrailRow]:
    alternate_ids = {e.on_behalf_of_id for e in events if e.on_behalf_of_id}
    names = dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(alternate_ids))).all()) \
        if alternate_ids else {}
    rows = []
    for event in events:
        details = dict(event.details or {})
        before, after = details.pop("before", None) or {}, details.pop("after", None) or {}
        keys = list(dict.fromkeys([*before, *after]))
        rows.append(TrailRow(
            event=event,
            role_label=Role(event.actor_role).label if event.actor_role in Role._value2member_map_ else "",
            on_behalf_of=names.get(event.on_behalf_of_id, ""),
            changes=[(k, before.get(k), after.get(k)) for k in keys],
            details=sorted(details.items()),
        ))
    return rows


def filter_choices(release_id: int | None) -> dict[str, list[tuple[str, str]]]:
    """The people and kinds of event that occur in this trail, for the filter form."""
    scope = [AuditEvent.release_id == release_id] if release_id is not None else []
    actions = db.session.scalars(sa.select(AuditEvent.action).where(*scope).distinct().order_by(AuditEvent.action))
    people = db.session.execute(sa.select(User.id, User.name, User.role).order_by(User.name)).all()
    return {
        "person": [("", "Anyone")] + [(str(uid), f"{name} ({role.label})") for uid, name, role in people],
        "role": [("", "Any role")] + [(r.value, r.label) for r in Role],
        "kind": [("", "Any kind")] + [(a, a) for a in actions],
    }
