"""Evidence files, written statements and submissions."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..access import Role
from ..auth.models import User
from ..extensions import db
from ..releases.models import Criterion
from ..timeutil import utcnow


class EvidenceFile(db.Model):
    """One uploaded file against a criterion; withdrawn files are kept and marked, never deleted."""

    __tablename__ = "evidence_file"
    __table_args__ = (
        # The same content is stored once per criterion among its current files.
        sa.Index("uq_evidence_file_current_sha256", "criterion_id", "sha256", unique=True,
                 sqlite_where=sa.text("withdrawn_at IS NULL"), postgresql_where=sa.text("withdrawn_at IS NULL")),
        sa.CheckConstraint("size > 0", name="size_positive"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    criterion_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("criterion.id"), index=True)
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    size: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    content_type: so.Mapped[str] = so.mapped_column(sa.String(120))
    type_label: so.Mapped[str] = so.mapped_column(sa.String(60))
    original_name: so.Mapped[str] = so.mapped_column(sa.String(255))
    description: so.Mapped[str] = so.mapped_column(sa.Text)
    uploaded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    uploaded_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    round: so.Mapped[int] = so.mapped_column(default=1, server_default="1")  # the release's round at upload
    answers_request_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("evidence_request.id"))
    replaces_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("evidence_file.id"))
    withdrawn_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    withdrawn_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    withdraw_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    criterion: so.Mapped[Criterion] = so.relationship()
    uploaded_by: so.Mapped[User] = so.relationship(foreign_keys=[uploaded_by_id])
    withdrawn_by: so.Mapped[User | None] = so.relationship(foreign_keys=[withdrawn_by_id])

    @property
    def is_current(self) -> bool:
        return self.withdrawn_at is None


class EvidenceStatement(db.Model):
    """The owner's written statement of why a criterion needs no file (or what the evidence shows)."""

    __tablename__ = "evidence_statement"
    __table_args__ = (sa.UniqueConstraint("criterion_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    criterion_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("criterion.id"))
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    written_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    written_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    round: so.Mapped[int] = so.mapped_column(default=1, server_default="1")  # the release's round when written

    written_by: so.Mapped[User] = so.relationship()


class EvidenceSubmission(db.Model):
    """An owning role's submission (DCC) or confirmation (SECAS) of its evidence for one review round."""

    __tablename__ = "evidence_submission"
    __table_args__ = (sa.UniqueConstraint("release_id", "role", "review_round"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    role: so.Mapped[Role] = so.mapped_column(sa.Enum(Role, native_enum=False, length=20))
    review_round: so.Mapped[int] = so.mapped_column(default=1)
    submitted_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    submitted_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    due_on: so.Mapped[dt.date | None]

    submitted_by: so.Mapped[User] = so.relationship()
