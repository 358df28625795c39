"""OpsG assessments of criteria and evidence requests to their owners."""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..auth.models import User
from ..extensions import db
from ..releases.models import Criterion, _enum
from ..signatures import Signature
from ..timeutil import utcnow


class AssessmentStatus(enum.StrEnum):
    MET = "met"
    PARTIALLY_MET = "partially_met"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {AssessmentStatus.MET: "Met", AssessmentStatus.PARTIALLY_MET: "Partially met",
                 AssessmentStatus.NOT_MET: "Not met", AssessmentStatus.NOT_APPLICABLE: "Not applicable"}


class AssessmentKind(enum.StrEnum):
    PRELIMINARY = "preliminary"
    FINAL = "final"

    @property
    def label(self) -> str:
        return "Final" if self is AssessmentKind.FINAL else "Preliminary"


class Assessment(db.Model):
    """One OpsG assessment of a criterion; all are kept, the latest is shown."""

    __tablename__ = "assessment"
    __table_args__ = (
        # One current final assessment per criterion (a deferral clears `is_current_final` to re-assess).
        sa.Index("uq_assessment_current_final", "criterion_id", unique=True,
                 sqlite_where=sa.text("is_current_final"), postgresql_where=sa.text("is_current_final")),
        sa.CheckConstraint("kind = 'final' OR NOT is_current_final", name="current_final_is_final"),
        sa.CheckConstraint("kind != 'final' OR signature_id IS NOT NULL", name="final_is_signed"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    criterion_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("criterion.id"), index=True)
    status: so.Mapped[AssessmentStatus] = so.mapped_column(_enum(AssessmentStatus))
    kind: so.Mapped[AssessmentKind] = so.mapped_column(_enum(AssessmentKind))
    rationale: so.Mapped[str] = so.mapped_column(sa.Text)
    review_round: so.Mapped[int] = so.mapped_column(default=1)
    is_current_final: so.Mapped[bool] = so.mapped_column(default=False)
    assessed_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    assessed_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))
    # A revised final assessment is a new signed row pointing at the one it replaces, with OpsG's reason.
    revises_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("assessment.id"))
    revision_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")

    criterion: so.Mapped[Criterion] = so.relationship()
    assessed_by: so.Mapped[User] = so.relationship()
    signature: so.Mapped[Signature | None] = so.relationship()


class RequestState(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"open": "Waiting for the owner", "answered": "Answered", "closed": "Closed"}[self.value]


class EvidenceRequest(db.Model):
    """OpsG asks a criterion's owner for more evidence; the owner answers; OpsG closes or asks again."""

    __tablename__ = "evidence_request"
    __table_args__ = (
        # At most one request per criterion that is not closed.
        sa.Index("uq_evidence_request_open", "criterion_id", unique=True,
                 sqlite_where=sa.text("state != 'closed'"), postgresql_where=sa.text("state != 'closed'")),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    criterion_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("criterion.id"), index=True)
    state: so.Mapped[RequestState] = so.mapped_column(_enum(RequestState), default=RequestState.OPEN)
    question: so.Mapped[str] = so.mapped_column(sa.Text)
    due_on: so.Mapped[dt.date | None]
    asked_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    asked_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    round: so.Mapped[int] = so.mapped_column(default=1, server_default="1")  # the release's round when asked
    answer: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    answered_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    answered_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    closed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    closed_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))

    criterion: so.Mapped[Criterion] = so.relationship()
    asked_by: so.Mapped[User] = so.relationship(foreign_keys=[asked_by_id])
    answered_by: so.Mapped[User | None] = so.relationship(foreign_keys=[answered_by_id])
    closed_by: so.Mapped[User | None] = so.relationship(foreign_keys=[closed_by_id])
