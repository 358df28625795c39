"""Accounts and logins: the only code that creates, changes or authenticates users."""
from __future__ import annotations

import datetime as dt
import math
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

from ..access import Conflict, Invalid, Role
from ..audit.services import record_event
from ..extensions import db
from ..notifications.services import notify
from ..timeutil import as_utc, utcnow
from .models import LoginAttempt, User
from .totp_models import TotpCredential

_STRONG = PasswordHasher()
# Tests hash hundreds of passwords; the cheapest profile keeps them fast (hashes record their own
# parameters, so either hasher verifies the other's).
_CHEAP = PasswordHasher.from_parameters(profiles.CHEAPEST)


def _hasher() -> PasswordHasher:
    return _CHEAP if has_app_context() and current_app.config.get("PASSWORD_HASH_CHEAP") else _STRONG


# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _STRONG.hash("not-a-real-password")
MIN_PASSWORD_LENGTH = 12


class TooManyAttempts(Exception):
    def __init__(self, minutes: int):
        super().__init__(f"too many attempts, {minutes} minutes")
        self.minutes = minutes


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def check_password_hash(password_hash: str, password: str) -> bool:
    """The slow check itself, on a hash read beforehand (signing runs it with no transaction open)."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _spend_verify_time() -> None:
    try:
        _hasher().verify(_DUMMY_HASH, "wrong")
    except VerificationError:
        pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _user_state(user: User) -> dict:
    return {"email": user.email, "name": user.name, "organisation": user.organisation,
            "role": str(user.role), "is_admin": user.is_admin, "is_chair": user.is_chair,
            "alternate_only": user.alternate_only, "active": user.active}


def _check_account(role: Role, is_admin: bool, is_chair: bool, alternate_only: bool) -> None:
    if is_admin and role != Role.SECAS:
        raise Invalid("Only SECAS users can be administrators.")
    if alternate_only and role != Role.PANEL:
        raise Invalid("Only SEC Panel users can be Panel alternates.")
    if alternate_only and is_chair:
        raise Invalid("A Panel alternate cannot chair the Panel: the chair is a Panel member.")


def create_user(actor: User | None, *, email: str, name: str, organisation: str, role: Role,
                password: str | None = None, is_admin: bool = False, is_chair: bool = False,
                alternate_only: bool = False, must_change_password: bool = True) -> tuple[User, str]:
    """Create an account; returns it with its first password (generated when none is given)."""
    email = normalise_email(email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise Invalid(f"An account with the email {email} already exists.")
    _check_account(role, is_admin, is_chair, alternate_only)
    password = password or secrets.token_urlsafe(12)
    user = User(email=email, name=name.strip(), organisation=organisation.strip(), role=role,
                is_admin=is_admin, is_chair=is_chair, alternate_only=alternate_only,
                password_hash=hash_password(password),
                must_change_password=must_change_password)
    db.session.add(user)
    db.session.flush()
    record_event(actor, "user.created", f"Account created for {user.name} ({role.label})",
                 obj=user, after=_user_state(user))
    return user, password


def update_user(actor: User, user: User, *, name: str, organisation: str, role: Role,
                is_admin: bool, is_chair: bool, active: bool, alternate_only: bool = False) -> User:
    _check_account(role, is_admin, is_chair, alternate_only)
    if user.id == actor.id and (not active or not is_admin):
        raise Conflict("You cannot remove your own administrator access or deactivate yourself.")
    before = _user_state(user)
    user.name, user.organisation, user.role = name.strip(), organisation.strip(), role
    user.is_admin, user.is_chair, user.alternate_only, user.active = is_admin, is_chair, alternate_only, active
    after = _user_state(user)
    if before["active"] and not active:
        end_sessions(user)
    if before != after:
        record_event(actor, "user.updated", f"Account of {user.name} changed", obj=user,
                     before=before, after=after)
    return user


def set_password(actor: User, user: User, password: str) -> None:
    """A new password: every other session of the user ends, and they are told by email."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if check_password(user, password):
        raise Invalid("The one-time password you were given cannot be kept: choose a password of your own."
                      if user.must_change_password else "Choose a password different from your current one.")
    user.password_hash = hash_password(password)
    user.must_change_password = False
    end_sessions(user)
    record_event(actor, "user.password_set", f"{user.name} set a new password", obj=user)
    notify("account_security", [], "Your password was changed",
           "The password of your SEC Release Portal account was changed, and every other session of yours was "
           "signed out. If you did not do this, contact the SEC Administrator at once.", url="/account/password",
           users=[user])


def end_sessions(user: User) -> int:
    """End every session of `user` (each holds the generation it started in); returns the new generation."""
    user.session_generation = (user.session_generation or 0) + 1
    db.session.flush()
    return user.session_generation


def sign_out_everywhere(actor: User, user: User) -> None:
    """An admin ends every session of `user` (a lost laptop, a copied cookie)."""
    end_sessions(user)
    record_event(actor, "user.signed_out_everywhere", f"{actor.name} signed {user.name} out everywhere", obj=user)


def check_throttle(email: str, *, max_failures: int, lockout_minutes: int) -> None:
    """Raise TooManyAttempts when `email` has failed too often since its last success (passwords and codes alike)."""
    window = dt.timedelta(minutes=lockout_minutes)
    since = utcnow() - window
    last_success = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.attempted_at))
        .where(LoginAttempt.email == email, LoginAttempt.succeeded.is_(True))
    )
    floor = max(since, as_utc(last_success)) if last_success else since
    failures = db.session.scalars(
        sa.select(LoginAttempt.attempted_at)
        .where(LoginAttempt.email == email, LoginAttempt.succeeded.is_(False),
               LoginAttempt.attempted_at > floor)
        .order_by(LoginAttempt.attempted_at)
    ).all()
    if len(failures) >= max_failures:
        unlock_at = as_utc(failures[-max_failures]) + window
        raise TooManyAttempts(max(1, math.ceil((unlock_at - utcnow()).total_seconds() / 60)))


def authenticate(email: str, password: str, remote_addr: str, *, max_failures: int,
                 lockout_minutes: int) -> tuple[User | None, bool]:
    """(the user for valid credentials or None, whether a two-factor code must follow); raise TooManyAttempts when
    throttled. The second factor is decided here once, and the audit event says which it was.

    Attempts are rows in the database, so the limit holds across workers.
    """
    email = normalise_email(email)[:254]
    check_throttle(email, max_failures=max_failures, lockout_minutes=lockout_minutes)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        _spend_verify_time()
    ok = user is not None and check_password(user, password) and user.active
    db.session.add(LoginAttempt(email=email, remote_addr=remote_addr[:64], succeeded=ok))
    if ok:
        if is_enrolled(user):  # signed in only once the code is right (totp.verify_second_factor)
            record_event(user, "auth.password_accepted", f"{user.name} entered the right password; "
                         "the two-factor code comes next", obj=user)
            return user, True
        record_event(user, "auth.login", f"{user.name} signed in", obj=user)
        return user, False
    record_event(None, "auth.login_failed", f"Failed sign-in for {email}", email=email,
                 remote_addr=remote_addr[:64])
    return None, False


def is_enrolled(user: User) -> bool:
    """The user has a second factor set up (portal/auth/totp.py builds on this module)."""
    return db.session.scalar(sa.select(TotpCredential.id).where(TotpCredential.user_id == user.id)) is not None


def record_logout(user: User) -> None:
    """Signing out ends every session of the user, so a copied session cookie stops working too."""
    end_sessions(user)
    record_event(user, "auth.logout", f"{user.name} signed out", obj=user)
