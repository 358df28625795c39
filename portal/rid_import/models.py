"""A RID document uploaded for import and not yet confirmed: kept in the database (not on one host's disk), so that
whichever host serves the review and the confirmation finds it."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow


class StagedRid(db.Model):
    """Not part of the record (nothing is imported until SECAS confirms): confirming deletes it in the import's own
    transaction, uploading the same bytes again replaces it, and the next upload by anyone removes it after a
    day. One per person and file: a unique constraint."""

    __tablename__ = "staged_rid"
    __table_args__ = (sa.UniqueConstraint("user_id", "sha256"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    filename: so.Mapped[str] = so.mapped_column(sa.String(200))
    target: so.Mapped[str] = so.mapped_column(sa.String(40))  # a draft release's code, or "" for a new release
    code: so.Mapped[str] = so.mapped_column(sa.String(40))  # the new release's code, or "" to derive it
    data: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)

    @property
    def meta(self) -> dict:
        return {"filename": self.filename, "user_id": self.user_id, "target": self.target, "code": self.code}
