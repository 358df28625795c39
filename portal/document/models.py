"""A RID version's published document, kept as the bytes that were issued (one per version)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow


class RidDocument(db.Model):
    """The document a RID version was issued as: the baseline's PDF, stored when the Panel baselined it, so the
    document the Panel baselined can always be downloaded byte for byte whatever the RID later became."""

    __tablename__ = "rid_document"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    rid_version_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rid_version.id"), unique=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))  # "pdf"
    content: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
