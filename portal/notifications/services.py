"""Notify people that a step is due for them. Called by the workflow services, in their transaction."""
from __future__ import annotations

import logging
from typing import Iterable

import sqlalchemy as sa

from ..access import Invalid, Role
from ..audit.services import record_event
from ..auth.models import User
from ..extensions import db
from ..timeutil import utcnow
from ..urls import absolute_url, portal_path  # noqa: F401  (portal_path: re-exported for the services that notify)
from .models import KINDS, Channel, Notification, NotificationPreference, OutboxMessage

log = logging.getLogger("portal.notifications")

# Set on the session when mail is queued, so the request can try delivery once it has committed.
MAIL_QUEUED = "portal_mail_queued"


def notify(kind: str, roles: Iterable[Role], subject: str, body: str, *, url: str = "", release=None,
           users: Iterable = (), link_text: str = "Open it in the portal") -> None:
    """Queue a notification of `kind` for every active user of `roles` (and any extra `users`).

    Kinds: evidence_requested, submission_due, criteria_ready, recommendation_recorded, vote_opened,
    vote_closing, decision_made, go_live_due, evidence_answered, replanned. The email links absolutely to `url` (a
    path; portal/urls.py says which address). Never raises for a delivery problem: email is sent later
    from the outbox, with retries.
    """
    roles = [Role(r) for r in roles]
    extra_ids = [u.id for u in users]
    recipients = db.session.scalars(
        sa.select(User).where(User.active.is_(True),
                              sa.or_(User.role.in_(roles), User.id.in_(extra_ids))).order_by(User.id)).all()
    if not recipients:
        return
    portal_only = set(db.session.scalars(sa.select(NotificationPreference.user_id).where(
        NotificationPreference.kind == kind, NotificationPreference.channel == Channel.PORTAL,
        NotificationPreference.user_id.in_([u.id for u in recipients]))))
    link = absolute_url(url)
    email_body = "\n\n".join(part for part in (body, link and f"{link_text}: {link}",
                                               "You can choose which notifications you receive by email "
                                               "on your notification settings page.") if part)
    now = utcnow()
    for user in recipients:
        db.session.add(Notification(user_id=user.id, kind=kind, subject=subject, body=body, url=url,
                                    release_id=release.id if release is not None else None, created_at=now))
        if user.id not in portal_only:
            db.session.add(OutboxMessage(to=user.email, user_id=user.id, subject=subject, body=email_body,
                                         next_attempt_at=now, created_at=now))
            log.info("email queued", extra={"to": user.email, "subject": subject, "kind": kind})
            db.session.info[MAIL_QUEUED] = True
    db.session.flush()


def send_email(user: User, subject: str, body: str) -> None:
    """Queue an email to one person only (an account link: no notification in the portal, no settings apply)."""
    now = utcnow()
    db.session.add(OutboxMessage(to=user.email, user_id=user.id, subject=subject, body=body, next_attempt_at=now,
                                 created_at=now))
    log.info("email queued", extra={"to": user.email, "subject": subject, "kind": "account"})
    db.session.info[MAIL_QUEUED] = True
    db.session.flush()


def mark_notifications_read(actor: User, notification_id: int | None = None) -> int:
    """Mark one of the actor's notifications (or all of them) as read; returns how many changed."""
    where = [Notification.user_id == actor.id, Notification.read_at.is_(None)]
    if notification_id is not None:
        where.append(Notification.id == notification_id)
    changed = db.session.execute(sa.update(Notification).where(*where).values(read_at=utcnow())).rowcount
    if changed:
        record_event(actor, "notifications.read", f"{actor.name} marked {changed} notification(s) as read",
                     obj=actor, after={"read": changed})
    return changed


def set_notification_preferences(actor: User, channels: dict[str, str]) -> None:
    """Record the actor's channel (email or portal only) for each kind of notification."""
    unknown = set(channels) - set(KINDS)
    if unknown or any(c not in set(Channel) for c in channels.values()):
        raise Invalid("Choose email or portal only for each kind of notification.")
    current = preferences_for(actor)
    changed = {k: c for k, c in channels.items() if current.get(k) != c}
    if not changed:
        return
    existing = {p.kind: p for p in db.session.scalars(
        sa.select(NotificationPreference).where(NotificationPreference.user_id == actor.id))}
    for kind, channel in changed.items():
        if kind in existing:
            existing[kind].channel = Channel(channel)
        else:
            db.session.add(NotificationPreference(user_id=actor.id, kind=kind, channel=Channel(channel)))
    db.session.flush()
    record_event(actor, "notifications.preferences_changed", f"{actor.name} changed notification settings",
                 obj=actor, before={k: current[k] for k in changed}, after=changed)


def preferences_for(user: User) -> dict[str, str]:
    """Each kind's channel for `user` (email unless they chose portal only)."""
    chosen = dict(db.session.execute(sa.select(NotificationPreference.kind, NotificationPreference.channel)
                                     .where(NotificationPreference.user_id == user.id)).all())
    return {kind: str(chosen.get(kind, Channel.EMAIL)) for kind in KINDS}


def unread_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0
