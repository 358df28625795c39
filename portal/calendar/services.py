"""Making, revoking and resolving private calendar links."""
from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from ..audit.services import record_event
from ..auth.models import User
from ..extensions import db
from ..timeutil import utcnow
from .models import CalendarToken


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def live_link(user: User) -> CalendarToken | None:
    return db.session.scalar(sa.select(CalendarToken).where(CalendarToken.user_id == user.id,
                                                            CalendarToken.revoked_at.is_(None)))


def _revoke(user: User) -> int:
    return db.session.execute(
        sa.update(CalendarToken).where(CalendarToken.user_id == user.id, CalendarToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())).rowcount


def create_calendar_link(actor: User) -> str:
    """Make a new private link (revoking any earlier one); returns the token, which is shown only now."""
    token = secrets.token_urlsafe(32)
    replaced = _revoke(actor)
    link = CalendarToken(user_id=actor.id, token_hash=_hash(token), created_at=utcnow())
    db.session.add(link)
    db.session.flush()
    record_event(actor, "calendar.link_created", f"{actor.name} made a new calendar link", obj=link,
                 after={"replaced_earlier_link": bool(replaced)})
    return token


def revoke_calendar_link(actor: User) -> None:
    """Revoke the actor's link: calendars subscribed to it stop updating."""
    link = live_link(actor)
    if link is None or _revoke(actor) == 0:
        return
    record_event(actor, "calendar.link_revoked", f"{actor.name} revoked their calendar link", obj=link)


def user_for_token(token: str) -> User | None:
    """The active user whose live link this is, or None (unknown, revoked, or the account is closed)."""
    return db.session.scalar(
        sa.select(User).join(CalendarToken, CalendarToken.user_id == User.id)
        .where(CalendarToken.token_hash == _hash(token), CalendarToken.revoked_at.is_(None),
               User.active.is_(True)))
