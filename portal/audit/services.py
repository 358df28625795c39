"""Writing and verifying the audit chain. `record_event` is called by every service that changes state.

Each event's hash is an HMAC-SHA-256, under an audit key kept out of the database, of the hash before it and the
event's content: a database writer can neither forge an event nor rehash a chain they changed. A chain cut short
still verifies link by link, so the portal also signs checkpoints (the chain's length and head hash) with its
Ed25519 key, at the first keyed event, every AUDIT_CHECKPOINT_EVERY events and at each Panel decision, into the
database and, once the transaction has committed, into the witness file outside it (portal/audit/witness.py).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from ..database import READ_ONLY
from ..extensions import db
from ..timeutil import utcnow
from . import witness
from .keys import AuditKeys, audit_keys
from .models import GENESIS_HASH, AuditCheckpoint, AuditEvent, canonical_content

log = logging.getLogger("portal")

# One advisory-lock key for the chain head on PostgreSQL (SQLite serialises writers already).
_CHAIN_LOCK_KEY = 0x5EC0A0D17
# Actions signed into a checkpoint as soon as they are recorded, whatever the interval.
CHECKPOINT_ACTIONS = frozenset({"decision.recorded"})
# session.info key: the transaction's checkpoints, each with its witness line, to write once it commits.
_WITNESS_PENDING = "audit_witness_pending"
_SIGNED_PREFIX = b"sec-release-portal audit checkpoint\n"

# Chain length -> (the head hash there, who records it): what signed checkpoints and packs say the chain was.
Anchors = dict[int, tuple[str, str]]


# json.dumps(content, sort_keys=True, separators=(",", ":"), default=str), without building an encoder each time
# (the walk of a long chain links millions of events).
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def link_hash(prev_hash: str, content: dict[str, Any], key: bytes | None) -> str:
    """An event's hash: HMAC-SHA-256 of the hash before it and its content (plain SHA-256 for events before keys)."""
    message = (prev_hash + _CANONICAL_JSON(content)).encode()
    return hmac.digest(key, message, "sha256").hex() if key else hashlib.sha256(message).hexdigest()


def checkpoint_message(record: dict[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers."""
    signed = {k: record[k] for k in ("length", "head_hash", "reason", "signed_at", "signer")}
    return _SIGNED_PREFIX + json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()


def signed_by_portal(record: dict[str, Any], keys: AuditKeys | None = None) -> bool:
    """Whether a checkpoint (from the witness, the database or a pack) carries a good signature by a portal key."""
    try:
        return (keys or audit_keys()).verify(record["signer"], checkpoint_message(record), record["signature"])
    except (KeyError, TypeError):
        return False


def _lock_chain() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})


def chain_head() -> AuditEvent | None:
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


def latest_checkpoint() -> dict[str, Any] | None:
    """The newest signed checkpoint with the public key that verifies it, for the decision pack."""
    checkpoint = db.session.scalar(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.length.desc()).limit(1))
    if checkpoint is None:
        return None
    return checkpoint.record() | {"public_key": audit_keys().public_key(checkpoint.signer)}


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
    keys = audit_keys()
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
        key_id=keys.key_id,
    )
    event.hash = link_hash(prev_hash, event.canonical(), keys.hmac_keys[keys.key_id])
    db.session.add(event)
    reason = _checkpoint_reason(event, head)
    if reason:
        _sign_checkpoint(event, reason, keys)
    db.session.flush()
    return event


def _checkpoint_reason(event: AuditEvent, head: AuditEvent | None) -> str | None:
    if head is None or head.key_id is None:
        return "start"  # the first keyed event: from here on even a chain emptied altogether shows
    if event.action in CHECKPOINT_ACTIONS:
        return "decision"
    every = current_app.config["AUDIT_CHECKPOINT_EVERY"]
    return "interval" if every and event.id % every == 0 else None


def _sign_checkpoint(event: AuditEvent, reason: str, keys: AuditKeys) -> None:
    """Sign the chain with `event` at its head, in the caller's transaction; the witness gets it at commit."""
    checkpoint = AuditCheckpoint(length=event.id, head_hash=event.hash, reason=reason,
                                 signed_at=utcnow().replace(microsecond=0), signer=keys.signer)
    checkpoint.signature = keys.sign(checkpoint_message(checkpoint.record()))
    db.session.add(checkpoint)
    db.session.info.setdefault(_WITNESS_PENDING, []).append((checkpoint, checkpoint.record()))


def sign_checkpoint_now() -> AuditCheckpoint | None:
    """Sign the chain as it stands (`flask audit checkpoint`, from a timer on every host), unless its head is
    already signed; in the caller's transaction, under the chain lock, so writers and signers on every host take
    turns and the chain keeps one head: two signers at once make one checkpoint (length is unique as well)."""
    _lock_chain()
    head = chain_head()
    if head is None or head.key_id is None:
        return None  # nothing keyed to sign yet: the first keyed event signs itself
    if db.session.scalar(sa.select(AuditCheckpoint.id).where(AuditCheckpoint.length == head.id)) is not None:
        return None
    _sign_checkpoint(head, "scheduled", audit_keys())
    db.session.flush()
    return db.session.info[_WITNESS_PENDING][-1][0]


def _write_witness(session: so.Session) -> None:
    # Only after the outermost commit, so a rolled-back transaction never leaves a line claiming events that do not
    # exist; a savepoint rolled back inside it has taken its checkpoints out of the session.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_WITNESS_PENDING, None)
    path = current_app.config["AUDIT_WITNESS_PATH"]
    records = [record for checkpoint, record in pending or () if checkpoint in session]
    if not records or not path:
        return
    try:
        witness.append(path, records)
    except OSError as err:
        # The events are committed either way; `flask audit verify` notes the checkpoints the witness lacks.
        log.error("audit witness not written", extra={"reason": f"{path}: {err}"})


def _forget(session: so.Session, transaction: so.SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WITNESS_PENDING, None)


def init_app(app) -> None:
    """Write each committed checkpoint to the witness (named in create_app)."""
    for identifier, listener in (("after_commit", _write_witness), ("after_transaction_end", _forget)):
        if not sa.event.contains(db.session, identifier, listener):  # the session is shared by every app
            sa.event.listen(db.session, identifier, listener)


class NotAPack(Exception):
    """The file given as a decision pack does not have a pack's record of the chain."""


@dataclass
class ChainReport:
    ok: bool
    checked: int
    head_hash: str
    first_broken_id: int | None = None
    problem: str = ""
    witnessed: int = 0  # the longest signed length the chain was held against
    notes: list[str] = field(default_factory=list)


def verify_chain(after: tuple[int, str] | None = None, anchors: Anchors | None = None,
                 workers: int = 1) -> ChainReport:
    """Walk the chain in id order (from the start, or after a verified (id, hash)); name the first bad event.

    Every event must verify under its audit key; at each of `anchors` the event must be the one recorded there,
    and the chain must be at least as long as the longest of them. With `workers` above 1 (`flask audit verify`;
    never inside a web request), a long chain is walked in that many id ranges at once, in forked processes, and
    the ranges are joined: the report is the one a single walk gives.
    """
    anchors = anchors or {}
    hmac_keys = audit_keys().hmac_keys
    last_id, prev_hash = after or (0, GENESIS_HASH)
    ranges = _ranges(last_id, workers)
    report = (_walk_ranges(ranges, prev_hash, anchors, hmac_keys) if ranges
              else _walk(last_id, prev_hash, False, anchors, hmac_keys))
    if not report.ok:
        return report
    longest = max(anchors, default=0)
    if longest > report.checked:
        return ChainReport(False, report.checked, report.head_hash, report.checked + 1,
                           f"{anchors[longest][1]} records {longest} events; the database holds {report.checked}")
    return ChainReport(True, report.checked, report.head_hash, witnessed=longest)


def _walk(last_id: int, prev_hash: str, keyed: bool, anchors: Anchors, hmac_keys: dict,
          upto: int | None = None, connection: sa.Connection | None = None) -> ChainReport:
    """Verify the events after `last_id` (up to `upto`, which must be there), the first following `prev_hash`;
    read through the session, or `connection`."""
    checked, expected_id = last_id, last_id + 1
    # Plain column rows, not ORM objects: the walk reads every event and must stay cheap.
    query = sa.select(*AuditEvent.__table__.c).where(AuditEvent.id > last_id)
    if upto is not None:
        query = query.where(AuditEvent.id <= upto)
    for event in (connection or db.session).execute(query.order_by(AuditEvent.id).execution_options(yield_per=2000)):
        if event.id != expected_id:
            return ChainReport(False, checked, prev_hash, expected_id, f"event {expected_id} is missing")
        problem = ""
        if event.prev_hash != prev_hash:
            problem = "does not follow the event before it"
        elif event.key_id is None and keyed:
            # Unkeyed events are those from before keys: none can follow a keyed one.
            problem = "it has no audit key, yet follows keyed events: the portal did not write it"
        elif event.key_id is not None and event.key_id not in hmac_keys:
            problem = f"it is linked under audit key id {event.key_id!r}, which is not configured (AUDIT_KEYS)"
        elif not hmac.compare_digest(
                link_hash(event.prev_hash, canonical_content(event), hmac_keys.get(event.key_id)), event.hash):
            problem = "its content was changed after it was written, or the portal did not write it"
        elif event.id in anchors and anchors[event.id][0] != event.hash:
            problem = f"it is not the event {anchors[event.id][1]} records at this point"
        if problem:
            return ChainReport(False, checked, prev_hash, event.id, problem)
        keyed = keyed or event.key_id is not None
        prev_hash, checked, expected_id = event.hash, checked + 1, expected_id + 1
    if upto is not None and checked < upto:
        return ChainReport(False, checked, prev_hash, expected_id, f"event {expected_id} is missing")
    return ChainReport(True, checked, prev_hash)


# Below this many events a worker, one walk is quicker than starting processes.
PARALLEL_MIN_EVENTS = 100_000
# What the forked walkers read: (app, anchors, keys, the first range's start and the hash before it).
_fork_state: tuple | None = None


def _ranges(last_id: int, workers: int) -> list[tuple[int, int]]:
    """Split the events after `last_id` into `workers` id ranges (start exclusive, end inclusive), or [] to walk
    them in one go (one worker, few events, or an in-memory SQLite database a forked process cannot see)."""
    if workers < 2 or db.engine.url.database in (None, "", ":memory:"):
        return []
    newest = db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0
    workers = min(workers, (newest - last_id) // PARALLEL_MIN_EVENTS)
    if workers < 2:
        return []
    cuts = [last_id + (newest - last_id) * i // workers for i in range(workers + 1)]
    return list(zip(cuts, cuts[1:]))


def _walk_range(bounds: tuple[int, int]) -> tuple[ChainReport, str]:
    """In a forked process: walk one range from the event before it as the database holds it (the joining checks
    that this is the event the range before verified)."""
    app, anchors, hmac_keys, first_start, first_prev = _fork_state
    start, end = bounds
    with app.app_context():
        db.engine.dispose(close=False)  # the parent's connections stay the parent's
        # A reading transaction: on SQLite the walkers read side by side and no writer waits for them.
        with db.engine.connect().execution_options(**READ_ONLY) as connection:
            if start == first_start:
                prev_hash, keyed = first_prev, False
            else:
                row = connection.execute(sa.select(AuditEvent.hash, AuditEvent.key_id)
                                         .where(AuditEvent.id == start)).first()
                # No such event: the range before reports it missing, and comes first.
                prev_hash, keyed = (row.hash, row.key_id is not None) if row else ("", False)
            return _walk(start, prev_hash, keyed, anchors, hmac_keys, upto=end, connection=connection), prev_hash


def _walk_ranges(ranges: list[tuple[int, int]], prev_hash: str, anchors: Anchors, hmac_keys: dict) -> ChainReport:
    global _fork_state
    # The walk only reads: end the caller's transaction, which on SQLite holds the write lock outside a request.
    db.session.commit()
    _fork_state = (current_app._get_current_object(), anchors, hmac_keys, ranges[0][0], prev_hash)
    try:
        with ProcessPoolExecutor(len(ranges), mp_context=multiprocessing.get_context("fork")) as pool:
            walked = list(pool.map(_walk_range, ranges))
    finally:
        _fork_state = None
    report = ChainReport(True, ranges[0][0], prev_hash)
    for (start, _), (part, started_from) in zip(ranges, walked):
        if started_from != report.head_hash:  # the event before the range changed while the ranges were walked
            return ChainReport(False, start, report.head_hash, start + 1, "does not follow the event before it")
        if not part.ok:
            return part
        report = part
    return report


def _unverifiable(problem: str) -> ChainReport:
    return ChainReport(False, 0, GENESIS_HASH, None, problem)


def verify_audit(pack: dict[str, Any] | None = None, workers: int = 1) -> ChainReport:
    """Everything `flask audit verify` checks: every event under its key, against every signed checkpoint in the
    witness and in the database, and a decision pack's record of the chain.

    The events are streamed; the checkpoints are few (one per AUDIT_CHECKPOINT_EVERY events or decision).
    """
    keys = audit_keys()
    anchors: Anchors = {}
    path = current_app.config["AUDIT_WITNESS_PATH"]
    witnessed = set()
    # The witness first: it is outside the database, so where the two disagree the witness is believed.
    try:
        for number, record in witness.records(path) if path else ():
            if record is None or not signed_by_portal(record, keys):
                return _unverifiable(f"line {number} of the witness {path} is not a checkpoint the portal signed")
            anchors.setdefault(record["length"], (record["head_hash"], "the witness"))
            witnessed.add(record["length"])
    except OSError as err:
        return _unverifiable(f"the witness {path} cannot be read ({err.strerror})")
    if pack is not None:
        problem = _pack_anchors(pack, anchors, keys)
        if problem:
            return _unverifiable(problem)
    unwitnessed = []
    for checkpoint in db.session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.length)):
        if not signed_by_portal(checkpoint.record(), keys):
            return _unverifiable(f"the database's checkpoint of {checkpoint.length} events has a bad signature: "
                                 "the portal did not sign it")
        anchors.setdefault(checkpoint.length, (checkpoint.head_hash, "a signed checkpoint in the database"))
        if path and checkpoint.length not in witnessed:
            unwitnessed.append(checkpoint.length)
    report = verify_chain(anchors=anchors, workers=workers)
    if unwitnessed:
        report.notes.append(f"the witness {path} lacks {len(unwitnessed)} of the database's signed checkpoints (the "
                            f"newest of {unwitnessed[-1]} events): a witness write failed, or the witness was "
                            "replaced")
    return report


def _pack_anchors(pack: dict[str, Any], anchors: Anchors, keys: AuditKeys) -> str:
    """Add what a decision pack records of the chain to `anchors`; the problem if its checkpoint is not signed."""
    try:
        chain = pack["audit_chain"]
        checkpoint = chain.get("checkpoint")
        if checkpoint and not signed_by_portal(checkpoint, keys):
            return "the pack's checkpoint has a bad signature: the portal did not sign it"
        if checkpoint:
            anchors.setdefault(checkpoint["length"], (checkpoint["head_hash"], "the pack's signed checkpoint"))
        if chain["verified"] and chain["events"]:
            anchors.setdefault(int(chain["events"]), (chain["head_hash"], "the pack"))
        for event in pack["audit_trail"]:
            anchors.setdefault(int(event["id"]), (event["hash"], "the pack"))
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise NotAPack(f"{type(err).__name__}: {err}") from None
    return ""


def _witness_anchor() -> tuple[Anchors, str]:
    """The witness's newest checkpoint as an anchor (its last line only), or the problem with it."""
    path = current_app.config["AUDIT_WITNESS_PATH"]
    if not path:
        return {}, ""
    try:
        record = witness.last(path)
    except OSError as err:
        return {}, f"the witness cannot be read ({err.strerror})"
    except ValueError:
        record = {}
    if record is None:
        return {}, ""
    if not signed_by_portal(record):
        return {}, "the witness's newest line is not a checkpoint the portal signed"
    return {record["length"]: (record["head_hash"], "the witness")}, ""


# Per process and database: the head of the chain as the last walk verified it, and when the last full walk ran.
_walks: dict[str, tuple[float, int, str]] = {}
_walks_lock = threading.Lock()


def chain_status() -> ChainReport:
    """The chain's state for the pages: a full walk every AUDIT_CHAIN_RECHECK_SECONDS, else only newer events.

    Between full walks, events after the last verified head are verified and that event must still hold its hash;
    an edit further back shows at the next full walk (and always in `flask audit verify`). Every check holds the
    chain against the witness's newest checkpoint, so a chain cut short behind it shows at once.
    """
    anchors, problem = _witness_anchor()
    if problem:
        return _unverifiable(problem)
    interval = current_app.config.get("AUDIT_CHAIN_RECHECK_SECONDS", 300)
    key = str(db.engine.url)
    with _walks_lock:
        walk = _walks.get(key)
    if walk and time.monotonic() - walk[0] < interval:
        walked_at, last_id, last_hash = walk
        row = db.session.execute(sa.select(AuditEvent.prev_hash, AuditEvent.hash)
                                 .where(AuditEvent.id == last_id)).first()
        if row is not None and row.hash == last_hash:
            # Re-walk from the last verified head itself, so an edit to it shows too.
            report = verify_chain(after=(last_id - 1, row.prev_hash), anchors=anchors)
            if report.ok:
                with _walks_lock:
                    _walks[key] = (walked_at, report.checked, report.head_hash)
            return report
    walked_at = time.monotonic()
    report = verify_chain(anchors=anchors)
    with _walks_lock:
        if report.ok:
            _walks[key] = (walked_at, report.checked, report.head_hash)
        else:
            _walks.pop(key, None)
    return report
