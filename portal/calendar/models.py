"""Private calendar links: only a hash of each token is stored; a revoked link stays revoked."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow


class CalendarToken(db.Model):
    __tablename__ = "calendar_token"
    __table_args__ = (
        # One live link per person.
        sa.Index("uq_calendar_token_user_live", "user_id", unique=True,
                 sqlite_where=sa.text("revoked_at IS NULL"), postgresql_where=sa.text("revoked_at IS NULL")),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    revoked_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
