"""Writing and verifying the audit chain. `record_event` is called by every service that changes state."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..timeutil import utcnow
from .models import GENESIS_HASH, AuditEvent

# One advisory-lock key for the chain head on PostgreSQL (SQLite serialises writers already).
_CHAIN_LOCK_KEY = 0x5EC0A0D17


def _digest(prev_hash: str, content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _lock_chain() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})


def chain_head() -> AuditEvent | None:
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


def record_event(
    actor,
    action: str,
    summary: str,
    *,
    obj: Any = None,
    release: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    on_behalf_of=None,
    **details: Any,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    `actor` is a User, or None for the system (CLI, reminders).
    """
    _lock_chain()
    head = chain_head()
    prev_hash = head.hash if head else GENESIS_HASH
    payload = dict(details)
    if before is not None:
        payload["before"] = before
    if after is not None:
        payload["after"] = after
    event = AuditEvent(
        id=(head.id + 1) if head else 1,
        occurred_at=utcnow().replace(microsecond=0),
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "System",
        actor_role=str(actor.role) if actor else None,
        on_behalf_of_id=on_behalf_of.id if on_behalf_of else None,
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        release_id=release.id if release is not None else None,
        summary=summary,
        details=json.loads(json.dumps(payload, default=str)),
        prev_hash=prev_hash,
    )
    event.hash = _digest(prev_hash, event.canonical())
    db.session.add(event)
    db.session.flush()
    return event


@dataclass
class ChainReport:
    ok: bool
    checked: int
    head_hash: str
    first_broken_id: int | None = None
    problem: str = ""


def verify_chain() -> ChainReport:
    """Walk the whole chain in id order; name the first event whose link or content does not match."""
    prev_hash, checked, expected_id = GENESIS_HASH, 0, 1
    rows = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=500))
    for event in rows.scalars():
        if event.id != expected_id:
            return ChainReport(False, checked, prev_hash, expected_id, f"event {expected_id} is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(False, checked, prev_hash, event.id, "does not follow the event before it")
        if _digest(event.prev_hash, event.canonical()) != event.hash:
            return ChainReport(False, checked, prev_hash, event.id, "its content was changed after it was written")
        prev_hash, checked, expected_id = event.hash, checked + 1, expected_id + 1
    return ChainReport(True, checked, prev_hash)


def chain_status() -> ChainReport:
    """Verify the chain now (nothing is cached: a stored 'verified' flag could itself be forged)."""
    return verify_chain()
