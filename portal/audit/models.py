"""Audit events: append-only, each chained to the one before by SHA-256."""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import as_utc, utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        # A linear chain: no two events may follow the same predecessor.
        sa.UniqueConstraint("prev_hash"),
        sa.Index("ix_audit_event_release_occurred", "release_id", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    occurred_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    actor_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    actor_role: so.Mapped[str | None] = so.mapped_column(sa.String(20), index=True)
    on_behalf_of_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    action: so.Mapped[str] = so.mapped_column(sa.String(60), index=True)
    object_type: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    object_id: so.Mapped[int | None]
    release_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("release.id"))
    summary: so.Mapped[str] = so.mapped_column(sa.Text)
    details: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    prev_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)

    def canonical(self) -> dict[str, Any]:
        return canonical_content(self)


def canonical_content(event) -> dict[str, Any]:
    """The fields the hash covers, in a stable form (from an AuditEvent or a row of its columns)."""
    return {
        "id": event.id,
        "occurred_at": as_utc(event.occurred_at).astimezone(dt.timezone.utc).isoformat(),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "actor_role": event.actor_role,
        "on_behalf_of_id": event.on_behalf_of_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "release_id": event.release_id,
        "summary": event.summary,
        "details": event.details,
    }


# Append-only even against direct SQL: triggers on both databases (also created by the migration).
_SQLITE_TRIGGERS = [
    sa.DDL(
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    ),
    sa.DDL(
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    ),
]
_PG_TRIGGERS = [
    sa.DDL(
        "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql"
    ),
    sa.DDL(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON audit_event FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
    ),
]
for _ddl in _SQLITE_TRIGGERS:
    sa.event.listen(AuditEvent.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))
for _ddl in _PG_TRIGGERS:
    sa.event.listen(AuditEvent.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))
