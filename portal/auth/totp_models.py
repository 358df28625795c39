"""Two-factor login: a user's TOTP authenticator, their recovery codes, and the roles that must use it."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..access import Role
from ..extensions import db
from ..timeutil import utcnow


class TotpCredential(db.Model):
    """One confirmed authenticator per user."""

    __tablename__ = "totp_credential"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), unique=True)
    secret: so.Mapped[str] = so.mapped_column(sa.String(64))
    # The last 30-second step accepted: a code is never accepted twice.
    last_used_step: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    enrolled_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)


class RecoveryCode(db.Model):
    """A one-time code for when the authenticator is lost; only its SHA-256 is kept."""

    __tablename__ = "recovery_code"
    __table_args__ = (sa.UniqueConstraint("user_id", "code_hash"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    used_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))


class TwoFactorRole(db.Model):
    """A role whose members must sign in with a second factor (set by a SECAS admin)."""

    __tablename__ = "two_factor_role"

    role: so.Mapped[Role] = so.mapped_column(
        sa.Enum(Role, native_enum=False, length=20, validate_strings=True), primary_key=True)
    required_since: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
