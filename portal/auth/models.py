"""Users (one role each) and the login attempts that drive throttling."""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from ..access import Role
from ..extensions import db
from ..timeutil import utcnow


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    organisation: so.Mapped[str] = so.mapped_column(sa.String(200))
    role: so.Mapped[Role] = so.mapped_column(sa.Enum(Role, native_enum=False, length=20, validate_strings=True))
    is_admin: so.Mapped[bool] = so.mapped_column(default=False)
    is_chair: so.Mapped[bool] = so.mapped_column(default=False)
    # A Panel user who is not a Panel member: they vote only as an alternate appointed by a member, instead of
    # that member, and never hold a seat of their own.
    alternate_only: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    active: so.Mapped[bool] = so.mapped_column(default=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(200))
    must_change_password: so.Mapped[bool] = so.mapped_column(default=True)
    # Stored in each session at sign-in; raising it ends every session of the user (sign-out, a new password,
    # deactivation, an admin's "sign out everywhere"): a copied session cookie stops working.
    session_generation: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    created_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def role_label(self) -> str:
        return self.role.label

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginAttempt(db.Model):
    """Every login attempt, kept in the database so throttling holds across workers."""

    __tablename__ = "login_attempt"
    __table_args__ = (sa.Index("ix_login_attempt_email_at", "email", "attempted_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    remote_addr: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    succeeded: so.Mapped[bool]
    attempted_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"          # a new user's link to choose their first password
    PASSWORD_RESET = "password_reset"  # "Forgotten your password?"


class AccountToken(db.Model):
    """A link emailed to a person: only the SHA-256 of its random token is kept; single use, expires."""

    __tablename__ = "account_token"
    __table_args__ = (sa.Index("ix_account_token_user_purpose", "user_id", "purpose"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    purpose: so.Mapped[TokenPurpose] = so.mapped_column(
        sa.Enum(TokenPurpose, native_enum=False, length=20, validate_strings=True))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True))
    used_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    revoked_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))

    user: so.Mapped[User] = so.relationship(foreign_keys=[user_id])


class PasswordResetRequest(db.Model):
    """Every "Forgotten your password?" request, known address or not: the throttle counts these rows."""

    __tablename__ = "password_reset_request"
    __table_args__ = (sa.Index("ix_password_reset_request_email_at", "email", "requested_at"),
                      sa.Index("ix_password_reset_request_addr_at", "remote_addr", "requested_at"))

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    remote_addr: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    requested_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
