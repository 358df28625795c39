"""Notifications in the portal, the email outbox, each person's choice of channel, and reminders sent."""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..releases.models import _enum
from ..timeutil import utcnow

# Every kind of notification; each person chooses a channel per kind.
KINDS = {
    "evidence_requested": "OpsG asks for more evidence",
    "evidence_answered": "The DCC or SECAS answers an evidence request",
    "submission_due": "Evidence submission due",
    "criteria_ready": "Criteria ready for OpsG review",
    "recommendation_recorded": "OpsG recommendation recorded",
    "vote_opened": "Panel vote opened",
    "vote_closing": "Panel vote closing soon",
    "decision_made": "Panel decision made",
    "go_live_due": "Go-live confirmations due",
    "replanned": "A release is re-planned: the new go-live and deadlines",
    "rid_version_issued": "A new RID version is issued (baselined or changed)",
    "reminder": "Reminders of deadlines and overdue steps",
}


class Channel(enum.StrEnum):
    EMAIL = "email"    # in the portal and by email
    PORTAL = "portal"  # in the portal only


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # gave up after MAIL_MAX_ATTEMPTS; kept for an admin to read


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_id_id", "user_id", "id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))
    subject: so.Mapped[str] = so.mapped_column(sa.String(300))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    url: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    release_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("release.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    read_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))


class OutboxMessage(db.Model):
    """An email waiting to be sent, sent, or given up on; never deleted."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_status_next", "status", "next_attempt_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    to: so.Mapped[str] = so.mapped_column(sa.String(254))
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    subject: so.Mapped[str] = so.mapped_column(sa.String(300))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    status: so.Mapped[OutboxStatus] = so.mapped_column(_enum(OutboxStatus, 10), default=OutboxStatus.QUEUED)
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    next_attempt_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    sent_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))


class NotificationPreference(db.Model):
    __tablename__ = "notification_preference"
    __table_args__ = (sa.UniqueConstraint("user_id", "kind"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))
    channel: so.Mapped[Channel] = so.mapped_column(_enum(Channel, 10))


class Reminder(db.Model):
    """A reminder already sent: each (milestone, kind) once, however often cron runs."""

    __tablename__ = "reminder"
    __table_args__ = (sa.UniqueConstraint("milestone_id", "kind"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    milestone_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("milestone.id"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))  # "due_soon" or "overdue"
    sent_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)


class VoteReminder(db.Model):
    """A "vote closing soon" reminder already sent: each (vote, member) once, however often cron runs."""

    __tablename__ = "vote_reminder"
    __table_args__ = (sa.UniqueConstraint("vote_id", "member_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    vote_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("vote.id"))
    member_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    sent_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
