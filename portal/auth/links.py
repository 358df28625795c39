"""Emailed account links: a SECAS admin's invitation to a new user, and "Forgotten your password?".

Each link carries a random token; only its SHA-256 is stored. A link works once, until it expires, and a new
link of the same kind (a resend, a second request) stops the older one working.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ..access import Conflict, Invalid, Role
from ..audit.services import record_event
from ..extensions import db
from ..notifications.services import send_email
from ..timeutil import as_utc, uk_time, utcnow
from ..urls import portal_url
from . import services
from .models import AccountToken, LoginAttempt, PasswordResetRequest, TokenPurpose, User

# Why a link does not work, in a sentence for its page (the view maps each to its status).
UNKNOWN, EXPIRED, USED, REVOKED = "unknown", "expired", "used", "revoked"


class LinkNotUsable(Exception):
    def __init__(self, reason: str, purpose: TokenPurpose | None = None):
        super().__init__(reason)
        self.reason = reason
        self.purpose = purpose


@dataclass(frozen=True)
class InvitationState:
    """The latest invitation of a user, as the admin's page shows it."""

    status: str  # "Sent", "Expired", "Accepted", "Revoked"
    sent_at: dt.datetime
    expires_at: dt.datetime
    accepted_at: dt.datetime | None

    @property
    def can_resend(self) -> bool:
        return self.status != "Accepted"

    @property
    def can_revoke(self) -> bool:
        return self.status == "Sent"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _issue(user: User, purpose: TokenPurpose, lifetime: dt.timedelta, actor: User | None) -> tuple[AccountToken, str]:
    """A new token for `user`; every older open one of the same purpose stops working."""
    now = utcnow()
    db.session.execute(sa.update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None),
        AccountToken.revoked_at.is_(None)).values(revoked_at=now))
    raw = secrets.token_urlsafe(32)
    token = AccountToken(user_id=user.id, purpose=purpose, token_hash=hash_token(raw), created_at=now,
                         expires_at=now + lifetime, created_by_id=actor.id if actor else None)
    db.session.add(token)
    db.session.flush()
    return token, raw


def _hours(hours: int) -> str:
    return "1 hour" if hours == 1 else f"{hours} hours"


def _minutes(minutes: int) -> str:
    if minutes % 60 == 0:
        return _hours(minutes // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


# --- Invitations ---------------------------------------------------------------------------------------------

def invite_user(actor: User, *, email: str, name: str, organisation: str, role: Role, is_admin: bool = False,
                is_chair: bool = False, alternate_only: bool = False) -> User:
    """Add an account with no usable password and email its holder a link to choose one."""
    user, _ = services.create_user(actor, email=email, name=name, organisation=organisation, role=role,
                                   password=secrets.token_urlsafe(32), is_admin=is_admin, is_chair=is_chair,
                                   alternate_only=alternate_only, must_change_password=True)
    send_invitation(actor, user)
    return user


def send_invitation(actor: User, user: User, *, resend: bool = False) -> AccountToken:
    """Email `user` a new invitation link (a resend stops the old link working)."""
    state = invitation_state(user)
    if state is not None and state.status == "Accepted":
        raise Conflict(f"{user.name} has accepted the invitation and chosen a password: there is nothing to resend.")
    if resend and state is None:
        raise Conflict(f"{user.name} was not invited by email: they already have a password.")
    if not user.active:
        raise Conflict(f"The account of {user.name} is deactivated. Reactivate it before sending an invitation.")
    hours = current_app.config.get("INVITATION_EXPIRY_HOURS", 72)
    token, raw = _issue(user, TokenPurpose.INVITATION, dt.timedelta(hours=hours), actor)
    link = portal_url("auth.accept_invitation", token=raw, secret=True)
    send_email(user, "You are invited to the SEC Release Portal",
               f"{actor.name} has added you to the SEC Release Portal as {user.role.label} ({user.organisation}).\n\n"
               f"Choose your password to start: {link}\n\n"
               f"The link works once, for {_hours(hours)} (until {uk_time(token.expires_at)}). If it has expired, "
               f"ask {actor.name} to send a new invitation.")
    record_event(actor, "user.invitation_resent" if resend else "user.invitation_sent",
                 f"{actor.name} {'sent a new' if resend else 'sent an'} invitation to {user.name}", obj=user,
                 after={"email": user.email, "expires_at": token.expires_at.isoformat()})
    return token


def revoke_invitation(actor: User, user: User) -> None:
    """Stop the user's open invitation link working."""
    state = invitation_state(user)
    if state is None or state.status != "Sent":
        raise Conflict(f"{user.name} has no open invitation to revoke.")
    db.session.execute(sa.update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.INVITATION,
        AccountToken.used_at.is_(None), AccountToken.revoked_at.is_(None)).values(revoked_at=utcnow()))
    record_event(actor, "user.invitation_revoked", f"{actor.name} revoked the invitation of {user.name}", obj=user)


def invitation_states(users) -> dict[int, InvitationState]:
    """user id -> the latest invitation's state, for the users who were invited by email (one query)."""
    latest = (sa.select(sa.func.max(AccountToken.id)).where(AccountToken.purpose == TokenPurpose.INVITATION,
                                                            AccountToken.user_id.in_([u.id for u in users]))
              .group_by(AccountToken.user_id))
    return {t.user_id: _state(t) for t in db.session.scalars(sa.select(AccountToken).where(AccountToken.id.in_(latest)))}


def invitation_state(user: User) -> InvitationState | None:
    """The user's latest invitation, or None if they were never invited by email."""
    token = db.session.scalar(sa.select(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.INVITATION)
        .order_by(AccountToken.id.desc()).limit(1))
    return None if token is None else _state(token)


def _state(token: AccountToken) -> InvitationState:
    if token.used_at is not None:
        status = "Accepted"
    elif token.revoked_at is not None:
        status = "Revoked"
    elif as_utc(token.expires_at) <= utcnow():
        status = "Expired"
    else:
        status = "Sent"
    return InvitationState(status, as_utc(token.created_at), as_utc(token.expires_at),
                           as_utc(token.used_at) if token.used_at else None)


def accept_invitation(raw: str, password: str) -> User:
    """The invitee chooses their password; the link is used up."""
    token = usable_token(raw, TokenPurpose.INVITATION)
    user = token.user
    _store_password(user, password, token)
    record_event(user, "user.invitation_accepted", f"{user.name} accepted the invitation and chose a password",
                 obj=user)
    return user


# --- Forgotten password --------------------------------------------------------------------------------------

class TooManyRequests(Exception):
    def __init__(self, minutes: int):
        super().__init__(f"too many reset requests, {minutes} minutes")
        self.minutes = minutes


def _check_reset_throttle(email: str, remote_addr: str) -> None:
    """Refuse more than PASSWORD_RESET_MAX_REQUESTS per address, or PASSWORD_RESET_MAX_PER_CLIENT per client, in
    the window (rows in the database, so the limit holds across workers, like the sign-in throttle)."""
    config = current_app.config
    window = dt.timedelta(minutes=config.get("PASSWORD_RESET_WINDOW_MINUTES", 60))
    limits = [(PasswordResetRequest.email == email, config.get("PASSWORD_RESET_MAX_REQUESTS", 3))]
    if remote_addr:
        limits.append((PasswordResetRequest.remote_addr == remote_addr,
                       config.get("PASSWORD_RESET_MAX_PER_CLIENT", 10)))
    for where, limit in limits:
        times = db.session.scalars(sa.select(PasswordResetRequest.requested_at).where(
            where, PasswordResetRequest.requested_at > utcnow() - window)
            .order_by(PasswordResetRequest.requested_at)).all()
        if len(times) >= limit:
            unlock_at = as_utc(times[-limit]) + window
            raise TooManyRequests(max(1, math.ceil((unlock_at - utcnow()).total_seconds() / 60)))


def request_password_reset(email: str, remote_addr: str) -> None:
    """Email a reset link if `email` has an active account; the caller answers the same either way."""
    email = services.normalise_email(email)[:254]
    remote_addr = remote_addr[:64]
    _check_reset_throttle(email, remote_addr)
    db.session.add(PasswordResetRequest(email=email, remote_addr=remote_addr))
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None or not user.active:
        record_event(None, "auth.password_reset_requested", f"Password reset asked for {email} (no active account)",
                     email=email, remote_addr=remote_addr)
        return
    minutes = current_app.config.get("PASSWORD_RESET_EXPIRY_MINUTES", 60)
    token, raw = _issue(user, TokenPurpose.PASSWORD_RESET, dt.timedelta(minutes=minutes), None)
    send_email(user, "Reset your SEC Release Portal password",
               f"Someone (we hope you) asked to reset the password of your SEC Release Portal account.\n\n"
               f"Choose a new password: {portal_url('auth.reset_password', token=raw, secret=True)}\n\n"
               f"The link works once, for {_minutes(minutes)} (until {uk_time(token.expires_at)}). If you did not "
               f"ask, ignore this email: your password stays as it is.")
    record_event(None, "auth.password_reset_requested", f"Password reset link sent to {user.name}", obj=user,
                 email=email, remote_addr=remote_addr)


def reset_password(raw: str, password: str) -> User:
    """Set a new password from an emailed reset link; every session of the user ends."""
    token = usable_token(raw, TokenPurpose.PASSWORD_RESET)
    user = token.user
    _store_password(user, password, token)
    # The link proves the mailbox: it lifts a sign-in lockout as a successful sign-in would.
    db.session.add(LoginAttempt(email=user.email, remote_addr="", succeeded=True))
    record_event(user, "user.password_reset", f"{user.name} reset their password from an emailed link", obj=user)
    send_email(user, "Your password was changed",
               "The password of your SEC Release Portal account was reset from an emailed link, and every session "
               "of yours was signed out. If you did not do this, contact the SEC Administrator at once.")
    return user


# --- Shared --------------------------------------------------------------------------------------------------

def usable_token(raw: str, purpose: TokenPurpose) -> AccountToken:
    """The stored token for the link `raw`, or LinkNotUsable saying why not."""
    token = db.session.scalar(sa.select(AccountToken).where(AccountToken.token_hash == hash_token(raw)))
    if token is None or token.purpose != purpose:
        raise LinkNotUsable(UNKNOWN, purpose)
    if token.used_at is not None:
        raise LinkNotUsable(USED, purpose)
    if token.revoked_at is not None:
        raise LinkNotUsable(REVOKED, purpose)
    if as_utc(token.expires_at) <= utcnow():
        raise LinkNotUsable(EXPIRED, purpose)
    if not token.user.active:
        raise LinkNotUsable(REVOKED, purpose)
    return token


def _store_password(user: User, password: str, token: AccountToken) -> None:
    """The new password from `token`'s link: the link is used up, any other open link of the user stops working,
    and every session of the user ends."""
    if len(password) < services.MIN_PASSWORD_LENGTH:
        raise Invalid(f"Password must be at least {services.MIN_PASSWORD_LENGTH} characters")
    now = utcnow()
    user.password_hash = services.hash_password(password)
    user.must_change_password = False
    token.used_at = now
    db.session.execute(sa.update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.id != token.id, AccountToken.used_at.is_(None),
        AccountToken.revoked_at.is_(None)).values(revoked_at=now))
    services.end_sessions(user)
