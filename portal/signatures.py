"""Signatures: an action confirmed by re-entering one's password, kept with a digest of what was signed."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from .access import Invalid, Role
from .auth.services import check_password
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


def content_digest(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def sign(actor, password: str, meaning: str, content: dict[str, Any]) -> Signature:
    """Check the signer's password and record the signature over `content` (in the caller's transaction)."""
    if not password or not check_password(actor, password):
        raise WrongPassword("The password you entered is not correct")
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
