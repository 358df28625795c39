"""Signatures: an action confirmed by re-entering one's password, kept with a digest of what was signed."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from flask import current_app, has_request_context, request

from .access import Invalid, Role
from .auth.models import LoginAttempt
from .audit.services import record_event
from .auth.services import TooManyAttempts, check_password_hash, check_throttle
from .extensions import db
from .timeutil import as_utc, utcnow


class Signature(db.Model):
    """Who signed what, as they were at the time: name and role are copied, not referenced."""

    __tablename__ = "signature"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    signer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    signer_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    signer_role: so.Mapped[str] = so.mapped_column(sa.String(20))
    signed_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True))
    meaning: so.Mapped[str] = so.mapped_column(sa.String(200))
    digest: so.Mapped[str] = so.mapped_column(sa.String(64))
    content: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    # For a signature imported with a decision pack: the signer's id in the portal where it was signed, which the
    # digest covers (None: signed here).
    origin_signer_id: so.Mapped[int | None] = so.mapped_column()

    @property
    def signer_role_label(self) -> str:
        return Role(self.signer_role).label


class WrongPassword(Invalid):
    """The password typed to sign did not match; the form shows it on its password field."""

    def __init__(self, message: str, field: str | None = "password"):
        super().__init__(message, field)


class SigningLocked(WrongPassword):
    """Too many wrong passwords (at signing or at sign-in): the sign-in throttle refuses even the right one."""

    status = 429


# Set on the session once the signer's password has passed check_signer, so sign() only records.
_CHECKED = "portal_signer_checked"
_WROTE = "portal_session_wrote"


@sa.event.listens_for(so.Session, "after_flush")
def _note_write(session, _context) -> None:
    session.info[_WROTE] = True


@sa.event.listens_for(so.Session, "after_transaction_end")
def _forget_write(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def _nothing_written() -> bool:
    session = db.session
    return not (session.new or session.dirty or session.deleted or session.info.get(_WROTE))


def check_signer(actor, password: str, message: str = "The password you entered is not correct") -> None:
    """Check the password typed to sign, before the service takes any lock or starts its write transaction.

    The argon2 check takes a good fraction of a second: it runs with no transaction open (on SQLite, a POST's
    transaction holds the write lock from its first query), so concurrent signers do not queue behind it. Wrong
    passwords count towards the sign-in throttle and are audited, in their own short transaction.
    """
    if not password:
        raise WrongPassword(message)
    config = current_app.config
    try:
        check_throttle(actor.email, max_failures=config["LOGIN_MAX_FAILURES"],
                       lockout_minutes=config["LOGIN_LOCKOUT_MINUTES"])
    except TooManyAttempts as err:
        raise SigningLocked(f"Too many wrong passwords. Try again in {err.minutes} minute"
                            f"{'' if err.minutes == 1 else 's'}.") from None
    user_id, email, name, password_hash = actor.id, actor.email, actor.name, actor.password_hash
    clean = _nothing_written()
    if clean:
        db.session.rollback()  # nothing to lose: ends the read transaction (and SQLite's write lock)
    if check_password_hash(password_hash, password):
        db.session.info[_CHECKED] = (user_id, password)
        return
    if clean:
        remote_addr = (request.remote_addr or "")[:64] if has_request_context() else ""
        db.session.add(LoginAttempt(email=email, remote_addr=remote_addr, succeeded=False))
        record_event(actor, "signature.wrong_password", f"Wrong password from {name} at signing", obj=actor,
                     remote_addr=remote_addr)
        db.session.commit()
    raise WrongPassword(message)


def content_digest(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def sign(actor, password: str, meaning: str, content: dict[str, Any]) -> Signature:
    """Record the signature over `content` (in the caller's transaction); the password was checked by
    check_signer before the caller took its locks (checked here otherwise)."""
    if db.session.info.get(_CHECKED) != (actor.id, password):
        check_signer(actor, password)
    signed_at = utcnow().replace(microsecond=0)
    content = json.loads(json.dumps(content, default=str))
    signed = {"meaning": meaning, "signer_id": actor.id, "signer_name": actor.name,
              "signer_role": str(actor.role), "signed_at": signed_at.isoformat(), "content": content}
    signature = Signature(signer_id=actor.id, signer_name=actor.name, signer_role=str(actor.role),
                          signed_at=signed_at, meaning=meaning, digest=content_digest(signed), content=content)
    db.session.add(signature)
    db.session.flush()
    return signature


def verify_signature(signature: Signature) -> bool:
    """Recompute the digest from the stored parts (an imported signature with the signer's id where it was made)."""
    signer_id = signature.signer_id if signature.origin_signer_id is None else signature.origin_signer_id
    signed = {"meaning": signature.meaning, "signer_id": signer_id, "signer_name": signature.signer_name,
              "signer_role": signature.signer_role, "signed_at": as_utc(signature.signed_at).isoformat(),
              "content": signature.content}
    return content_digest(signed) == signature.digest
