"""Two-factor login services: enrol, verify a code or recovery code, disable, and the per-role requirement."""
from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
import segno
import sqlalchemy as sa

from ..access import Conflict, Invalid, PermissionDenied, Role
from ..audit.services import record_event
from ..extensions import db
from ..notifications.services import notify
from ..timeutil import utcnow
from .models import LoginAttempt, User
from ..signatures import check_signer
from .services import check_password, is_enrolled  # noqa: F401  (is_enrolled: part of this module's interface)
from .totp_models import RecoveryCode, TotpCredential, TwoFactorRole

ISSUER = "SEC Release Portal"
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code as an inline SVG data URI: rendered here, no third party sees the secret."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def credential_for(user: User) -> TotpCredential | None:
    return db.session.scalar(sa.select(TotpCredential).where(TotpCredential.user_id == user.id))


def required_roles() -> set[Role]:
    return set(db.session.scalars(sa.select(TwoFactorRole.role)))


def is_required_for(user: User) -> bool:
    return db.session.get(TwoFactorRole, user.role) is not None


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The 30-second step `code` belongs to, allowing one step of clock drift either way."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    for drift in (0, -1, 1):
        at = now + drift * totp.interval
        if secrets.compare_digest(totp.at(at), code):
            return int(at // totp.interval)
    return None


def enrol_totp(actor: User, secret: str, code: str) -> list[str]:
    """Confirm a scanned authenticator with a code from it; returns the recovery codes (shown once)."""
    if is_enrolled(actor):
        raise Conflict("You already have an authenticator. Turn it off first to set up a new one.")
    step = _matching_step(secret, code, time.time())
    if step is None:
        raise Invalid("The code is not right. Enter the 6-digit code your authenticator app shows now.")
    db.session.add(TotpCredential(user_id=actor.id, secret=secret, last_used_step=step))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=actor.id, code_hash=_hash_code(c)) for c in codes)
    db.session.flush()
    record_event(actor, "auth.totp_enrolled", f"{actor.name} set up two-factor sign-in", obj=actor,
                 recovery_codes=len(codes))
    notify("account_security", [], "Two-factor sign-in was set up",
           "An authenticator app was set up for two-factor sign-in to your SEC Release Portal account. If you did "
           "not do this, contact the SEC Administrator at once.", url="/account/two-factor", users=[actor])
    return codes


def verify_second_factor(user: User, code: str, remote_addr: str) -> bool:
    """Check a TOTP code (each accepted once) or an unused recovery code; every attempt is recorded."""
    credential = credential_for(user)
    ok = False
    if credential is not None:
        step = _matching_step(credential.secret, code, time.time())
        if step is not None:
            # Conditional update: a code replayed (or raced) within its step is refused.
            ok = db.session.execute(
                sa.update(TotpCredential)
                .where(TotpCredential.id == credential.id, TotpCredential.last_used_step < step)
                .values(last_used_step=step)).rowcount == 1
        else:
            ok = _use_recovery_code(user, code)
    db.session.add(LoginAttempt(email=user.email, remote_addr=remote_addr[:64], succeeded=ok))
    if ok:
        record_event(user, "auth.login", f"{user.name} signed in with two-factor sign-in", obj=user)
    else:
        record_event(None, "auth.second_factor_failed", f"Wrong two-factor code for {user.email}",
                     email=user.email, remote_addr=remote_addr[:64])
    return ok


def _use_recovery_code(user: User, code: str) -> bool:
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash_code(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())).rowcount == 1
    if used:
        left = db.session.scalar(sa.select(sa.func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
        record_event(user, "auth.recovery_code_used", f"{user.name} signed in with a recovery code",
                     obj=user, recovery_codes_left=left)
    return used


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def reset_totp(admin: User, user: User, password: str) -> None:
    """An admin removes another user's authenticator and recovery codes (a lost phone and lost codes), after
    re-entering their own password. The user is told by email, and then signs in with their password alone, setting
    two-factor sign-in up again if their role must use it."""
    if not admin.is_admin:
        raise PermissionDenied("Only an admin can reset someone's two-factor sign-in.")
    if admin.id == user.id:
        raise Conflict("Change your own two-factor sign-in from your account page.")
    # Throttled and audited like a signature's password, and checked before anything is written.
    check_signer(admin, password, "Enter your correct password to reset their two-factor sign-in.")
    if db.session.execute(sa.delete(TotpCredential).where(TotpCredential.user_id == user.id)).rowcount != 1:
        raise Conflict(f"{user.name} does not use two-factor sign-in: there is nothing to reset.")
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record_event(admin, "auth.totp_reset", f"{admin.name} reset the two-factor sign-in of {user.name}", obj=user)
    # Always by email, whatever their settings: if they did not ask for this, they must know at once.
    notify("account_security", [], "Your two-factor sign-in was reset",
           f"{admin.name} reset your two-factor sign-in to the SEC Release Portal. You now sign in with your "
           "password alone until you set it up again. If you did not ask for this, contact the SEC Administrator "
           "at once.", url="/account/two-factor", users=[user])


def disable_totp(actor: User, password: str) -> None:
    """Remove the actor's authenticator and recovery codes, after they re-enter their password."""
    check_signer(actor, password, "Enter your correct password to turn off two-factor sign-in.")
    if is_required_for(actor):
        raise Conflict(f"Two-factor sign-in is required for {actor.role.label} users: it cannot be turned off.")
    if db.session.execute(sa.delete(TotpCredential).where(TotpCredential.user_id == actor.id)).rowcount != 1:
        raise Conflict("Two-factor sign-in is already off.")
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == actor.id))
    record_event(actor, "auth.totp_disabled", f"{actor.name} turned off two-factor sign-in", obj=actor)
    notify("account_security", [], "Two-factor sign-in was turned off",
           "Two-factor sign-in to the SEC Release Portal was turned off for your account. If you did not do this, "
           "contact the SEC Administrator at once.", url="/account/two-factor", users=[actor])


def set_required_roles(actor: User, roles: set[Role]) -> None:
    """Require two-factor sign-in for exactly `roles` (their members enrol at their next request)."""
    before = required_roles()
    if before == roles:
        return
    db.session.execute(sa.delete(TwoFactorRole).where(TwoFactorRole.role.not_in(roles)))
    db.session.add_all(TwoFactorRole(role=r) for r in roles - before)
    record_event(actor, "auth.two_factor_policy_changed", "Roles that must use two-factor sign-in changed",
                 before={"roles": sorted(before)}, after={"roles": sorted(roles)})
