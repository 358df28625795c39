"""Writing and verifying the audit chain. `record_event` is called by every service that changes state."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..timeutil import utcnow
from .models import GENESIS_HASH, AuditEvent, canonical_content

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


def verify_chain(after: tuple[int, str] | None = None) -> ChainReport:
    """Walk the chain in id order (from the start, or after a verified (id, hash)); name the first bad event."""
    last_id, prev_hash = after or (0, GENESIS_HASH)
    checked, expected_id = last_id, last_id + 1
    # Plain column rows, not ORM objects: the walk reads every event and must stay cheap.
    query = (sa.select(*AuditEvent.__table__.c).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
             .execution_options(yield_per=2000))
    for event in db.session.execute(query):
        if event.id != expected_id:
            return ChainReport(False, checked, prev_hash, expected_id, f"event {expected_id} is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(False, checked, prev_hash, event.id, "does not follow the event before it")
        if _digest(event.prev_hash, canonical_content(event)) != event.hash:
            return ChainReport(False, checked, prev_hash, event.id, "its content was changed after it was written")
        prev_hash, checked, expected_id = event.hash, checked + 1, expected_id + 1
    return ChainReport(True, checked, prev_hash)


# Per process and database: the newest event a full walk verified, and when that walk ran.
_checkpoints: dict[str, tuple[float, int, str]] = {}
_checkpoints_lock = threading.Lock()


def chain_status() -> ChainReport:
    """The chain's state for the pages: a full walk every AUDIT_CHAIN_RECHECK_SECONDS, else only newer events.

    Between full walks, events after the checkpoint are verified and the checkpoint event must still hold
    its hash; an edit further back shows at the next full walk (and always in `flask audit verify`).
    """
    interval = current_app.config.get("AUDIT_CHAIN_RECHECK_SECONDS", 300)
    key = str(db.engine.url)
    with _checkpoints_lock:
        checkpoint = _checkpoints.get(key)
    if checkpoint and time.monotonic() - checkpoint[0] < interval:
        walked_at, last_id, last_hash = checkpoint
        row = db.session.execute(sa.select(AuditEvent.prev_hash, AuditEvent.hash)
                                 .where(AuditEvent.id == last_id)).first()
        if row is not None and row.hash == last_hash:
            # Re-walk from the checkpoint event itself, so an edit to it shows too.
            report = verify_chain(after=(last_id - 1, row.prev_hash))
            if report.ok:
                with _checkpoints_lock:
                    _checkpoints[key] = (walked_at, report.checked, report.head_hash)
            return report
    walked_at = time.monotonic()
    report = verify_chain()
    with _checkpoints_lock:
        if report.ok:
            _checkpoints[key] = (walked_at, report.checked, report.head_hash)
        else:
            _checkpoints.pop(key, None)
    return report
