"""A release's go-live notice, as the SEC publishes it: its lists are kept as drafted, so a published notice never
changes unseen whatever the RID later says."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..auth.models import User
from ..extensions import db
from ..releases.models import Release, _enum
from ..timeutil import utcnow


class NoticeState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Notice(db.Model):
    """One per release: drafted at go-live, edited by SECAS while a draft, immutable once published."""

    __tablename__ = "notice"
    __table_args__ = (
        sa.CheckConstraint("(state = 'draft' AND published_at IS NULL) OR (state = 'published' AND published_at "
                           "IS NOT NULL AND published_by_id IS NOT NULL)", name="published_has_when_and_who"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), unique=True)
    state: so.Mapped[NoticeState] = so.mapped_column(_enum(NoticeState), default=NoticeState.DRAFT)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    summary: so.Mapped[str] = so.mapped_column(sa.Text)
    sec_version: so.Mapped[str] = so.mapped_column(sa.String(20))  # "40.0"
    effective_on: so.Mapped[dt.date]  # the UK date the release went live
    # As drafted: [{"reference", "title", "url"}] of the approved modifications, [{"name", "title"}] of the documents.
    modifications: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON, default=list)
    documents: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON, default=list)
    drafted_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    published_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True), index=True)
    published_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))

    release: so.Mapped[Release] = so.relationship(back_populates="notice")
    published_by: so.Mapped[User | None] = so.relationship()

    @property
    def is_published(self) -> bool:
        return self.state == NoticeState.PUBLISHED
