"""Reading the audit trail: filtered, keyset-paged by id (fast with tens of thousands of events)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
import sqlalchemy as sa

from ..access import Role
from ..auth.models import User
from ..extensions import db
from ..timeutil import UK
from .describe import event_name, field_name, field_value, people_in, sentence
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
    sentence: str = ""
    name: str = ""  # the kind of event, in words
    changes: list[tuple[str, str | None, str]] = field(default_factory=list)  # (field, before or None, after)
    details: list[tuple[str, str]] = field(default_factory=list)
    exact: str = ""  # the stored details, as JSON


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
    people = {e.on_behalf_of_id for e in events if e.on_behalf_of_id}
    for event in events:
        people |= people_in(event.details or {})
    names = dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(people))).all()) \
        if people else {}
    rows = []
    for event in events:
        details = dict(event.details or {})
        before, after = details.pop("before", None) or {}, details.pop("after", None) or {}
        role_label = Role(event.actor_role).label if event.actor_role in Role._value2member_map_ else ""
        changes = []
        for key in dict.fromkeys([*before, *after]):
            if key not in before and after.get(key) in (None, "", [], {}):
                continue  # nothing was there and nothing is: not a change worth a line
            was = field_value(key, before[key], names) if key in before else None
            changes.append((field_name(key), was, field_value(key, after.get(key), names)))
        rows.append(TrailRow(
            event=event, role_label=role_label, on_behalf_of=names.get(event.on_behalf_of_id, ""),
            sentence=sentence(event, role_label, names), name=event_name(event.action), changes=changes,
            details=[(field_name(k), field_value(k, v, names)) for k, v in sorted(details.items())],
            exact=json.dumps(event.details or {}, indent=2, sort_keys=True, ensure_ascii=False, default=str),
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
        "kind": [("", "Any kind")] + sorted(((a, event_name(a)) for a in actions), key=lambda c: c[1]),
    }
