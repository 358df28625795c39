"""The OpsG recommendation, the Panel vote (members, ballots), the decision, go-live confirmations, re-assessment marks.

A release goes through decision *rounds*: round 1 until its first Panel decision, round 2 after a No-go, and so on.
"""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..access import Role
from ..auth.models import User
from ..extensions import db
from ..releases.models import Criterion, RidVersion, _enum
from ..signatures import Signature
from ..timeutil import utcnow


def _current_only(name: str, *columns: str, where: str = "is_current") -> sa.Index:
    """A partial unique index: at most one row per `columns` where `where` holds."""
    return sa.Index(name, *columns, unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


class RecommendationKind(enum.StrEnum):
    AS_PLANNED = "as_planned"
    WITH_CONDITIONS = "with_conditions"
    NOT_AS_PLANNED = "not_as_planned"

    @property
    def label(self) -> str:
        return {"as_planned": "Implement as planned",
                "with_conditions": "Implement subject to conditions",
                "not_as_planned": "Do not implement as planned"}[self.value]


class Recommendation(db.Model):
    """OpsG's recommendation to the Panel; a revision keeps the earlier one with is_current false."""

    __tablename__ = "recommendation"
    __table_args__ = (_current_only("uq_recommendation_current", "release_id", "round"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    round: so.Mapped[int] = so.mapped_column(default=1)
    kind: so.Mapped[RecommendationKind] = so.mapped_column(_enum(RecommendationKind))
    conditions: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    reasons: so.Mapped[str] = so.mapped_column(sa.Text)
    is_current: so.Mapped[bool] = so.mapped_column(default=True)
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    recorded_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    signature_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("signature.id"))

    recorded_by: so.Mapped[User] = so.relationship()
    signature: so.Mapped[Signature] = so.relationship()
    # Its conditions as tracked rows (`conditions` keeps the texts as signed).
    condition_rows: so.Mapped[list[Condition]] = so.relationship(order_by="Condition.number", viewonly=True)


class VoteState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Outcome(enum.StrEnum):
    GO = "go"
    NO_GO = "no_go"

    @property
    def label(self) -> str:
        return "Go" if self is Outcome.GO else "No-go"


class Choice(enum.StrEnum):
    GO = "go"
    NO_GO = "no_go"
    ABSTAIN = "abstain"

    @property
    def label(self) -> str:
        return {"go": "Go", "no_go": "No-go", "abstain": "Abstain"}[self.value]


class Vote(db.Model):
    """The Panel's go/no-go vote for one round; its rules are settings kept on the vote."""

    __tablename__ = "vote"
    __table_args__ = (sa.UniqueConstraint("release_id", "round"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    round: so.Mapped[int] = so.mapped_column(default=1)
    state: so.Mapped[VoteState] = so.mapped_column(_enum(VoteState), default=VoteState.OPEN)
    chair_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    opened_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    closes_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    closed_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    closed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    outcome: so.Mapped[Outcome | None] = so.mapped_column(_enum(Outcome))
    # The rules (defaults from DOMAIN.md): quorum is more than half of the eligible members casting a ballot.
    abstentions_count_to_quorum: so.Mapped[bool] = so.mapped_column(default=True)
    chair_has_casting_vote: so.Mapped[bool] = so.mapped_column(default=True)

    chair: so.Mapped[User] = so.relationship(foreign_keys=[chair_id])
    members: so.Mapped[list[VoteMember]] = so.relationship(back_populates="vote", order_by="VoteMember.id")

    @property
    def is_open(self) -> bool:
        return self.state == VoteState.OPEN


class VoteMember(db.Model):
    """A Panel member eligible for the vote (fixed at opening), with any conflict or alternate."""

    __tablename__ = "vote_member"
    __table_args__ = (
        sa.UniqueConstraint("vote_id", "member_id"),
        # An alternate stands in for one member per vote.
        sa.UniqueConstraint("vote_id", "alternate_id"),
        sa.CheckConstraint("alternate_id IS NULL OR alternate_id != member_id", name="alternate_not_self"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    vote_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("vote.id"), index=True)
    member_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    alternate_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    conflict_note: so.Mapped[str | None] = so.mapped_column(sa.Text)
    conflict_declared_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))

    vote: so.Mapped[Vote] = so.relationship(back_populates="members")
    member: so.Mapped[User] = so.relationship(foreign_keys=[member_id])
    alternate: so.Mapped[User | None] = so.relationship(foreign_keys=[alternate_id])

    @property
    def is_conflicted(self) -> bool:
        return self.conflict_note is not None


class Ballot(db.Model):
    """One ballot for a member (cast by them or their alternate); a change keeps the earlier one, not current."""

    __tablename__ = "ballot"
    __table_args__ = (_current_only("uq_ballot_current", "vote_id", "member_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    vote_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("vote.id"), index=True)
    member_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    cast_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    choice: so.Mapped[Choice] = so.mapped_column(_enum(Choice))
    comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    is_current: so.Mapped[bool] = so.mapped_column(default=True)
    cast_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    signature_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("signature.id"))

    member: so.Mapped[User] = so.relationship(foreign_keys=[member_id])
    cast_by: so.Mapped[User] = so.relationship(foreign_keys=[cast_by_id])
    signature: so.Mapped[Signature] = so.relationship()

    @property
    def by_alternate(self) -> bool:
        return self.cast_by_id != self.member_id


class Decision(db.Model):
    """The Panel's go/no-go decision for one round, recorded by the chair with reasons."""

    __tablename__ = "decision"
    __table_args__ = (sa.UniqueConstraint("release_id", "round"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    round: so.Mapped[int]
    vote_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("vote.id"), unique=True)
    outcome: so.Mapped[Outcome] = so.mapped_column(_enum(Outcome))
    reasons: so.Mapped[str] = so.mapped_column(sa.Text)
    # The go-live date the decision was made against; a deferral must set a different one.
    planned_go_live: so.Mapped[dt.date]
    # The RID version the Panel decided on (the release's current version when the decision was recorded).
    rid_version_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("rid_version.id"))
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    recorded_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    signature_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("signature.id"))

    vote: so.Mapped[Vote] = so.relationship()
    rid_version: so.Mapped[RidVersion | None] = so.relationship()
    recorded_by: so.Mapped[User] = so.relationship()
    signature: so.Mapped[Signature] = so.relationship()


class ConditionState(enum.StrEnum):
    OPEN = "open"
    MET = "met"
    ACCEPTED = "accepted"
    WAIVED = "waived"

    @property
    def label(self) -> str:
        return {"open": "Open", "met": "Met, waiting for OpsG", "accepted": "Accepted by OpsG",
                "waived": "Waived by the Panel"}[self.value]

    @property
    def is_settled(self) -> bool:
        """Accepted or waived: it no longer holds up go-live."""
        return self in (ConditionState.ACCEPTED, ConditionState.WAIVED)


CONDITION_OWNERS = (Role.DCC, Role.SECAS)


class Condition(db.Model):
    """One condition of an "implement subject to conditions" recommendation: its owner marks it met with evidence,
    OpsG accepts it, or the Panel chair waives it with a reason. Go-live waits until each is accepted or waived."""

    __tablename__ = "recommendation_condition"
    __table_args__ = (
        sa.UniqueConstraint("recommendation_id", "number"),
        sa.CheckConstraint("owner_role IN ('dcc', 'secas')", name="owner_dcc_or_secas"),
        sa.CheckConstraint("state = 'open' OR state = 'waived' OR met_at IS NOT NULL", name="met_has_evidence"),
        sa.CheckConstraint("state != 'waived' OR waive_reason IS NOT NULL", name="waived_has_reason"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    recommendation_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("recommendation.id"), index=True)
    number: so.Mapped[int]
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    owner_role: so.Mapped[Role] = so.mapped_column(_enum(Role))
    state: so.Mapped[ConditionState] = so.mapped_column(_enum(ConditionState), default=ConditionState.OPEN)
    # The owner's evidence: a statement, and optionally a file kept in the evidence storage by its SHA-256.
    met_statement: so.Mapped[str | None] = so.mapped_column(sa.Text)
    met_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    met_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    file_sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    file_name: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    file_size: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    file_type: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    # Who accepted (OpsG) or waived (the Panel chair) it, and the Panel's reason for a waiver.
    settled_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    settled_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    waive_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)

    met_by: so.Mapped[User | None] = so.relationship(foreign_keys=[met_by_id])
    settled_by: so.Mapped[User | None] = so.relationship(foreign_keys=[settled_by_id])

    @property
    def is_settled(self) -> bool:
        return ConditionState(self.state).is_settled


class ConfirmationKind(enum.StrEnum):
    READINESS = "readiness"
    SEC_IMPLEMENTED = "sec_implemented"
    DEPLOYMENT = "deployment"

    @property
    def label(self) -> str:
        return CONFIRMATION_LABELS[self]


CONFIRMATION_LABELS = {
    ConfirmationKind.READINESS: "SECAS ready to implement on the agreed date",
    ConfirmationKind.SEC_IMPLEMENTED: "SEC changes implemented (new SEC version)",
    ConfirmationKind.DEPLOYMENT: "DCC deployment confirmed",
}


class GoLiveConfirmation(db.Model):
    """One signed go-live confirmation; one of each kind per decision."""

    __tablename__ = "go_live_confirmation"
    __table_args__ = (sa.UniqueConstraint("decision_id", "kind"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    decision_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("decision.id"))
    kind: so.Mapped[ConfirmationKind] = so.mapped_column(_enum(ConfirmationKind))
    sec_version: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    confirmed_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    confirmed_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    signature_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("signature.id"))

    confirmed_by: so.Mapped[User] = so.relationship()
    signature: so.Mapped[Signature] = so.relationship()


class ReassessmentMark(db.Model):
    """OpsG marks a criterion for re-assessment after a No-go decision."""

    __tablename__ = "reassessment_mark"
    __table_args__ = (sa.UniqueConstraint("decision_id", "criterion_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    decision_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("decision.id"))
    criterion_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("criterion.id"))
    marked_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    marked_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)

    criterion: so.Mapped[Criterion] = so.relationship()
