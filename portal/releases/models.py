"""The release and its Release Implementation Document (RID), held as data, section by section."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..access import Role
from ..extensions import db
from ..timeutil import utcnow


def _enum(cls: type[enum.Enum], length: int = 30) -> sa.Enum:
    return sa.Enum(cls, native_enum=False, length=length, validate_strings=True,
                   values_callable=lambda e: [m.value for m in e])


class Stage(enum.StrEnum):
    DRAFT = "draft"
    EVIDENCE = "evidence"
    OPSG_REVIEW = "opsg_review"
    PANEL_VOTE = "panel_vote"
    APPROVED = "approved"
    LIVE = "live"
    DEFERRED = "deferred"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS = {
    Stage.DRAFT: "Draft RID",
    Stage.EVIDENCE: "Evidence gathering",
    Stage.OPSG_REVIEW: "OpsG review",
    Stage.PANEL_VOTE: "Panel go/no-go vote",
    Stage.APPROVED: "Approved to go live",
    Stage.LIVE: "Live",
    Stage.DEFERRED: "Deferred",
}


class ScopeStatus(enum.StrEnum):
    APPROVED = "approved"
    TARGETED = "targeted"
    WITHDRAWN = "withdrawn"
    MOVED = "moved"


class MilestoneKind(enum.StrEnum):
    BASELINE = "baseline"
    EVIDENCE = "evidence"
    OPSG_REVIEW = "opsg_review"
    PANEL_DECISION = "panel_decision"
    GO_LIVE = "go_live"
    OTHER = "other"


class Release(db.Model):
    __tablename__ = "release"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    stage: so.Mapped[Stage] = so.mapped_column(_enum(Stage), default=Stage.DRAFT, index=True)
    # Round 1 until the first No-go; each replan starts the next round of evidence, review and vote.
    round: so.Mapped[int] = so.mapped_column(default=1, server_default="1")
    planned_go_live: so.Mapped[dt.date] = so.mapped_column(index=True)  # the release list's order
    sec_version: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    about: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    approved_mps_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    targeted_mps_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    change_requests_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    document_impacts_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    other_codes_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    test_strategy_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    user_testing_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    dcc_costs_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    secas_costs_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # The whole RID as it stands now (services.rid_snapshot), refreshed at every commit that changes it
    # (portal/releases/rid_live.py): the release page reads this one column instead of thirteen tables.
    rid_live: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON(none_as_null=True), deferred=True)

    scope: so.Mapped[list[ScopeEntry]] = so.relationship(
        back_populates="release", order_by="ScopeEntry.position", foreign_keys="ScopeEntry.release_id")
    change_requests: so.Mapped[list[ChangeRequest]] = so.relationship(order_by="ChangeRequest.position")
    participant_impacts: so.Mapped[list[ParticipantImpact]] = so.relationship()
    impact_summaries: so.Mapped[list[ImpactSummary]] = so.relationship(order_by="ImpactSummary.position")
    document_impacts: so.Mapped[list[DocumentImpact]] = so.relationship()
    other_code_impacts: so.Mapped[list[OtherCodeImpact]] = so.relationship(order_by="OtherCodeImpact.position")
    milestones: so.Mapped[list[Milestone]] = so.relationship(order_by="(Milestone.due_on, Milestone.position)")
    test_phases: so.Mapped[list[TestPhase]] = so.relationship(order_by="TestPhase.position")
    cost_items: so.Mapped[list[CostItem]] = so.relationship(order_by="CostItem.position")
    criteria: so.Mapped[list[Criterion]] = so.relationship(back_populates="release", order_by="Criterion.number")
    # Drafted when the release goes Live (portal/notices); a page that shows it loads it with the release.
    # By name, resolved through the registry: notices.models imports this module, so it is not imported here.
    notice: so.Mapped["Notice | None"] = so.relationship(back_populates="release")

    @property
    def active_criteria(self) -> list[Criterion]:
        """The criteria the release must still meet: all but the withdrawn ones."""
        return [c for c in self.criteria if c.withdrawn_at is None]
    glossary: so.Mapped[list[GlossaryTerm]] = so.relationship(order_by="GlossaryTerm.position")
    rid_versions: so.Mapped[list[RidVersion]] = so.relationship(
        back_populates="release", order_by="(RidVersion.major, RidVersion.minor)")

    @property
    def current_rid(self) -> RidVersion | None:
        return self.rid_versions[-1] if self.rid_versions else None

    @property
    def is_baselined(self) -> bool:
        return any(v.is_baseline for v in self.rid_versions)


class RidVersion(db.Model):
    """One issue of the RID. From baselining on, each holds a snapshot of the whole RID as it was."""

    __tablename__ = "rid_version"
    __table_args__ = (sa.UniqueConstraint("release_id", "major", "minor"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    major: so.Mapped[int]
    minor: so.Mapped[int]
    issued_on: so.Mapped[dt.date]
    change_note: so.Mapped[str] = so.mapped_column(sa.Text)
    is_baseline: so.Mapped[bool] = so.mapped_column(default=False)
    # For the baseline: the Panel meeting that baselined the RID, and the minute that records it.
    panel_meeting_on: so.Mapped[dt.date | None]
    panel_minute_ref: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    snapshot: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)

    release: so.Mapped[Release] = so.relationship(back_populates="rid_versions")

    @property
    def number(self) -> str:
        return f"{self.major}.{self.minor}"


class ModificationProposal(db.Model):
    __tablename__ = "modification_proposal"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(20), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    url: so.Mapped[str] = so.mapped_column(sa.String(500), default="")


class ScopeEntry(db.Model):
    """A modification's place in a release's scope."""

    __tablename__ = "scope_entry"
    __table_args__ = (sa.UniqueConstraint("release_id", "mp_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    mp_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("modification_proposal.id"), index=True)
    status: so.Mapped[ScopeStatus] = so.mapped_column(_enum(ScopeStatus))
    cutoff_date: so.Mapped[dt.date | None]
    summary: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    moved_to_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("release.id"))
    position: so.Mapped[int] = so.mapped_column(default=0)

    release: so.Mapped[Release] = so.relationship(back_populates="scope", foreign_keys=[release_id])
    mp: so.Mapped[ModificationProposal] = so.relationship(lazy="joined")
    moved_to: so.Mapped[Release | None] = so.relationship(foreign_keys=[moved_to_id])


class ChangeRequest(db.Model):
    __tablename__ = "change_request"
    __table_args__ = (sa.UniqueConstraint("release_id", "reference"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(20))
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    position: so.Mapped[int] = so.mapped_column(default=0)


class ParticipantGroup(db.Model):
    __tablename__ = "participant_group"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    position: so.Mapped[int] = so.mapped_column(default=0)


class ParticipantImpact(db.Model):
    """A tick in the participant impact matrix: this MP impacts this group."""

    __tablename__ = "participant_impact"
    __table_args__ = (sa.UniqueConstraint("release_id", "mp_id", "group_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    mp_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("modification_proposal.id"))
    group_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("participant_group.id"))


class ImpactSummary(db.Model):
    """One bullet of the impact summaries: per participant group ('party') or DCC area ('dcc')."""

    __tablename__ = "impact_summary"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))  # "party" or "dcc"
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    position: so.Mapped[int] = so.mapped_column(default=0)

    __table_args__ = (sa.CheckConstraint("kind IN ('party', 'dcc')", name="kind"),)


class SecDocument(db.Model):
    __tablename__ = "sec_document"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    position: so.Mapped[int] = so.mapped_column(default=0)


class DocumentImpact(db.Model):
    """A tick in the SEC document impact matrix."""

    __tablename__ = "document_impact"
    __table_args__ = (sa.UniqueConstraint("release_id", "mp_id", "document_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    mp_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("modification_proposal.id"))
    document_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("sec_document.id"))


class OtherCodeImpact(db.Model):
    __tablename__ = "other_code_impact"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(100))
    description: so.Mapped[str] = so.mapped_column(sa.Text)
    position: so.Mapped[int] = so.mapped_column(default=0)


class Milestone(db.Model):
    __tablename__ = "milestone"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    kind: so.Mapped[MilestoneKind] = so.mapped_column(_enum(MilestoneKind))
    due_on: so.Mapped[dt.date]
    event: so.Mapped[str] = so.mapped_column(sa.String(300))
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    acting_role: so.Mapped[Role] = so.mapped_column(sa.Enum(Role, native_enum=False, length=20))
    position: so.Mapped[int] = so.mapped_column(default=0)


class TestPhase(db.Model):
    __tablename__ = "test_phase"
    __table_args__ = (sa.UniqueConstraint("release_id", "phase"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    phase: so.Mapped[str] = so.mapped_column(sa.String(10))  # PIT, SIT, UIT
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    applies: so.Mapped[bool]
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    position: so.Mapped[int] = so.mapped_column(default=0)


class CostItem(db.Model):
    __tablename__ = "cost_item"
    __table_args__ = (sa.CheckConstraint("amount_pence >= 0", name="amount_not_negative"),
                      sa.CheckConstraint("qualifier IN ('estimated', 'around', 'fixed')", name="qualifier"))

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    party: so.Mapped[str] = so.mapped_column(sa.String(20))  # DCC or SECAS
    description: so.Mapped[str] = so.mapped_column(sa.Text)
    amount_pence: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    already_budgeted: so.Mapped[bool] = so.mapped_column(default=False)
    # How the RID words the amount: "estimated to be £340,000", "around £1,200", or a fixed amount.
    qualifier: so.Mapped[str] = so.mapped_column(sa.String(20), default="fixed", server_default="fixed")
    position: so.Mapped[int] = so.mapped_column(default=0)


class Criterion(db.Model):
    """An operational acceptance criterion, owned by one role."""

    __tablename__ = "criterion"
    __table_args__ = (sa.UniqueConstraint("release_id", "number"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    number: so.Mapped[int]
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    owner_role: so.Mapped[Role] = so.mapped_column(sa.Enum(Role, native_enum=False, length=20))
    # Set when SECAS withdraws a criterion that has been answered (its evidence and assessments stay in the
    # record); a withdrawn criterion needs nothing more before go-live.
    withdrawn_at: so.Mapped[dt.datetime | None] = so.mapped_column(sa.DateTime(timezone=True))

    release: so.Mapped[Release] = so.relationship(back_populates="criteria")

    SHORT_TITLE_WORDS = 8

    @property
    def short_title(self) -> str:
        """The criterion's first words, for a tile ("The DCC has brought to readiness all the new…"): the RID
        gives its criteria no titles, so the portal shows the beginning of the text."""
        words = self.text.split(".")[0].split()
        short = " ".join(words[:self.SHORT_TITLE_WORDS]).rstrip(",;:")
        return short + ("…" if len(words) > self.SHORT_TITLE_WORDS else "")


class GlossaryTerm(db.Model):
    __tablename__ = "glossary_term"
    __table_args__ = (sa.UniqueConstraint("release_id", "acronym"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    release_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("release.id"), index=True)
    acronym: so.Mapped[str] = so.mapped_column(sa.String(20))
    term: so.Mapped[str] = so.mapped_column(sa.String(200))
    position: so.Mapped[int] = so.mapped_column(default=0)
