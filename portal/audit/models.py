"""Audit events: append-only, each chained to the one before by HMAC-SHA-256; signed checkpoints of the chain."""
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
    # The id of the audit key the hash is an HMAC under; None for events from before keys (plain SHA-256).
    key_id: so.Mapped[str | None] = so.mapped_column(sa.String(40))

    def canonical(self) -> dict[str, Any]:
        return canonical_content(self)


def canonical_content(event) -> dict[str, Any]:
    """The fields the hash covers, in a stable form (from an AuditEvent or a row of its columns)."""
    content = {
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
    # Events from before keys keep the content they were hashed with.
    if event.key_id is not None:
        content["key_id"] = event.key_id
    return content


class AuditCheckpoint(db.Model):
    """The chain's length and head hash at one moment, signed with the portal's Ed25519 key (also in the witness)."""

    __tablename__ = "audit_checkpoint"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    length: so.Mapped[int] = so.mapped_column(unique=True)
    head_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    reason: so.Mapped[str] = so.mapped_column(sa.String(20))
    signed_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True))
    signer: so.Mapped[str] = so.mapped_column(sa.String(64))
    signature: so.Mapped[str] = so.mapped_column(sa.String(128))

    def record(self) -> dict[str, Any]:
        """The checkpoint as the witness and the decision pack carry it."""
        return {"length": self.length, "head_hash": self.head_hash, "reason": self.reason,
                "signed_at": as_utc(self.signed_at).astimezone(dt.timezone.utc).isoformat(),
                "signer": self.signer, "signature": self.signature}


# Append-only even against direct SQL: triggers on both databases (also created by the migrations).
def _sqlite_triggers(table: str, noun: str) -> list[sa.DDL]:
    return [sa.DDL(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{noun} are append-only'); END") for verb in ("UPDATE", "DELETE")]


def _pg_triggers(table: str, noun: str) -> list[sa.DDL]:
    return [
        sa.DDL(f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$ "
               f"BEGIN RAISE EXCEPTION '{noun} are append-only'; END; $$ LANGUAGE plpgsql"),
        sa.DDL(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
               f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"),
    ]


for _model, _noun in ((AuditEvent, "audit events"), (AuditCheckpoint, "audit checkpoints")):
    for _ddl in _sqlite_triggers(_model.__tablename__, _noun):
        sa.event.listen(_model.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))
    for _ddl in _pg_triggers(_model.__tablename__, _noun):
        sa.event.listen(_model.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))
