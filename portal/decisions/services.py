"""Recommendation (OpsG chair), vote and decision (Panel), go-live (SECAS, DCC) and deferral (SECAS, OpsG).

Who may take each step, and when, is the action table's (portal/workflow.py): every function here begins by
requiring its action, then checks its input, changes the rows and writes the audit event.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..access import Invalid, NotFound, PermissionDenied, Role
from ..audit.services import record_event
from ..auth.models import User
from ..criteria import backends, filetypes, storage
from ..criteria.evidence_services import check_file_name
from ..criteria.models import Assessment
from ..database import insert_once, locked, update_once
from ..extensions import db
from ..notices.services import draft_notice
from ..notifications import messages
from ..notifications.services import notify, portal_path
from ..queries import ReleaseFacts, Tally, count_vote
from ..releases.models import Criterion, MilestoneKind, Release, ScopeStatus, Stage
from ..releases.lifecycle import move_modification
from ..releases.services import add_rid_version
from ..signatures import check_signer, sign
from ..timeutil import as_utc, move_by_working_days, uk_date, utcnow, why_not_working_day
from ..workflow import CONFIRMATION_ACTIONS, NOT_ELIGIBLE, Offer, move_stage, next_steps, require, who_acts_next
from .models import (CONDITION_OWNERS, CONFIRMATION_LABELS, Ballot, Choice, Condition, ConditionState,
                     ConfirmationKind, Decision, GoLiveConfirmation,
                     Outcome, ReassessmentMark, Recommendation, RecommendationKind, Vote, VoteMember, VoteState)

__all__ = ["count_vote"]  # the tally page and the pack count through this module


# --- The OpsG recommendation -----------------------------------------------------------------------

def record_recommendation(actor, release: Release, *, kind: RecommendationKind,
                          conditions: list[tuple[Role, str]], reasons: str, password: str) -> Recommendation:
    """The OpsG chair records (or revises) the signed recommendation to the Panel; each condition (owner, text)
    becomes a row its owner marks met."""
    # Refusals first (a wrong role never reaches the password), then the slow password check before any lock
    # (it never holds up other writers), then the action again under the lock.
    require("record_recommendation", release, actor)
    check_signer(actor, password)
    release = locked(Release, release.id)
    facts = require("record_recommendation", release, actor)
    conditions = [(Role(owner), text.strip()) for owner, text in conditions if text.strip()]
    reasons = reasons.strip()
    if any(owner not in CONDITION_OWNERS for owner, _ in conditions):
        raise Invalid("A condition's owner must be the DCC or SECAS.", field="conditions")
    if kind == RecommendationKind.WITH_CONDITIONS and not conditions:
        raise Invalid("List the conditions, one on each line, under the DCC or SECAS.", field="conditions")
    if kind != RecommendationKind.WITH_CONDITIONS:
        conditions = []
    if not reasons:
        raise Invalid("Enter the reasons for the recommendation.", field="reasons")
    signature = sign(actor, password, f"recommended: {kind.label}",
                     {"release": release.code, "round": release.round, "recommendation": str(kind),
                      "conditions": [{"owner": str(owner), "text": text} for owner, text in conditions],
                      "reasons": reasons})
    earlier = facts.recommendation
    if earlier is not None:
        earlier.is_current = False
        db.session.flush()
    recommendation = Recommendation(release_id=release.id, round=release.round, kind=kind,
                                    conditions=[text for _, text in conditions], reasons=reasons,
                                    recorded_by_id=actor.id, signature_id=signature.id)
    insert_once(recommendation, "Someone else has just recorded a recommendation. Reload the page to see it.")
    db.session.add_all(Condition(release_id=release.id, recommendation_id=recommendation.id, number=n, text=text,
                                 owner_role=owner) for n, (owner, text) in enumerate(conditions, start=1))
    db.session.flush()
    record_event(actor, "recommendation.recorded", f"OpsG recommendation: {kind.label}", obj=recommendation,
                 release=release, before={"recommendation": str(earlier.kind)} if earlier else None,
                 after={"recommendation": str(kind),
                        "conditions": [f"{owner.label}: {text}" for owner, text in conditions]})
    notify("recommendation_recorded", [Role.PANEL, Role.SECAS], f"{release.name}: OpsG recommendation recorded",
           messages.with_deadline(f"OpsG recommends: {kind.label}.", "The Panel decides", release,
                                  MilestoneKind.PANEL_DECISION), url=portal_path("decisions.decision", code=release.code),
           release=release)
    for owner in CONDITION_OWNERS:  # each owner is told the conditions it must meet before go-live
        mine = [f"{n}. {text}" for n, (role, text) in enumerate(conditions, start=1) if role == owner]
        if mine:
            notify("recommendation_recorded", [owner], f"{release.name}: conditions for {owner.label} to meet",
                   f"OpsG recommends implementing subject to conditions. {owner.label} marks each one met, with "
                   f"its evidence, before go-live: " + " ".join(mine),
                   url=portal_path("decisions.conditions", code=release.code), release=release)
    return recommendation


# --- Conditions: the owner marks each met with evidence, OpsG accepts it, or the Panel chair waives it ------------

def find_condition(facts: ReleaseFacts, number: int) -> Condition:
    """Condition `number` of this round's current recommendation, or 404."""
    condition = next((c for c in facts.conditions if c.number == number), None)
    if condition is None:
        raise NotFound(f"The current recommendation has no condition {number}.")
    return condition


def _settle(actor, release: Release, condition: Condition, before: ConditionState, changes: dict) -> None:
    update_once(Condition, [Condition.id == condition.id, Condition.state == before], changes,
                f"Condition {condition.number} has just been changed by someone else. Reload the page to see it.")
    db.session.refresh(condition)


def mark_condition_met(actor, release: Release, condition: Condition, *, statement: str,
                       staged: storage.HashingTempFile | None = None, file_name: str | None = None) -> Condition:
    """The condition's owner marks it met, with a statement and optionally a file (kept by its SHA-256)."""
    release = locked(Release, release.id)
    require("mark_condition_met", release, actor, condition)
    statement = (statement or "").strip()
    if not statement:
        raise Invalid("Enter a statement of how the condition has been met.", field="statement")
    file_fields: dict = {}
    if staged is not None:
        name = check_file_name(file_name)
        if staged.size == 0:
            raise Invalid("The selected file is empty.", field="file")
        filetype = filetypes.detect(staged, staged.size, name)
        if filetype is None:
            raise Invalid(f"The file is not a type the portal accepts. Upload {filetypes.ACCEPTED_LABEL}.", field="file")
        backends.store(staged)
        file_fields = {"file_sha256": staged.sha256, "file_name": name, "file_size": staged.size,
                       "file_type": filetype.mime}
    _settle(actor, release, condition, ConditionState.OPEN,
            {"state": ConditionState.MET, "met_statement": statement, "met_by_id": actor.id, "met_at": utcnow(),
             **file_fields})
    record_event(actor, "condition.met", f"Condition {condition.number} marked met by {actor.role.label}",
                 obj=condition, release=release, before={"state": "open"},
                 after={"state": "met", "statement": statement, "file": file_fields.get("file_name"),
                        "sha256": file_fields.get("file_sha256")})
    notify("criteria_ready", [Role.OPSG], f"{release.name}: condition {condition.number} is ready for OpsG",
           f"{actor.role.label} has marked condition {condition.number} met: {condition.text} Review its evidence "
           "and accept it.", url=portal_path("decisions.conditions", code=release.code), release=release)
    return condition


def _tell_if_go_live_can_proceed(release: Release) -> None:
    """Once the last condition is settled after a Go, the go-live confirmations are due."""
    facts = ReleaseFacts(release)
    if release.stage == Stage.APPROVED and not facts.unsettled_conditions():
        notify("go_live_due", [Role.SECAS, Role.DCC], f"{release.name}: every condition is settled",
               f"Go-live confirmations are due for {uk_date(release.planned_go_live)}.",
               url=portal_path("decisions.go_live", code=release.code), release=release)


def accept_condition(actor, release: Release, condition: Condition) -> Condition:
    """OpsG accepts the owner's evidence that the condition is met."""
    release = locked(Release, release.id)
    require("accept_condition", release, actor, condition)
    _settle(actor, release, condition, ConditionState.MET,
            {"state": ConditionState.ACCEPTED, "settled_by_id": actor.id, "settled_at": utcnow()})
    record_event(actor, "condition.accepted", f"Condition {condition.number} accepted by OpsG", obj=condition,
                 release=release, before={"state": "met"}, after={"state": "accepted"})
    _tell_if_go_live_can_proceed(release)
    return condition


def waive_condition(actor, release: Release, condition: Condition, reason: str) -> Condition:
    """The Panel chair waives a condition, giving the Panel's reason."""
    release = locked(Release, release.id)
    require("waive_condition", release, actor, condition)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Enter the Panel's reason for waiving the condition.")
    before = ConditionState(condition.state)
    _settle(actor, release, condition, before, {"state": ConditionState.WAIVED, "waive_reason": reason,
                                                 "settled_by_id": actor.id, "settled_at": utcnow()})
    record_event(actor, "condition.waived", f"Condition {condition.number} waived by the Panel", obj=condition,
                 release=release, before={"state": str(before)}, after={"state": "waived", "reason": reason})
    _tell_if_go_live_can_proceed(release)
    return condition


# --- The Panel vote --------------------------------------------------------------------------------

def open_vote(actor, release: Release, *, closes_at: dt.datetime | None = None) -> Vote:
    """The Panel chair opens the vote; every active Panel user is eligible from now on."""
    release = locked(Release, release.id)
    require("open_vote", release, actor)
    if closes_at is not None and as_utc(closes_at) <= utcnow():
        raise Invalid("The closing time must be in the future.")
    # The Panel's members: a Panel alternate votes only from a member's seat, never holds one.
    members = list(db.session.scalars(sa.select(User).where(User.role == Role.PANEL, User.active,
                                                            sa.not_(User.alternate_only))
                                      .order_by(User.name)))
    vote = Vote(release_id=release.id, round=release.round, chair_id=actor.id, closes_at=closes_at)
    insert_once(vote, "The vote has just been opened by someone else.")
    db.session.add_all(VoteMember(vote_id=vote.id, member_id=m.id) for m in members)
    db.session.flush()
    record_event(actor, "vote.opened", f"Panel vote opened with {len(members)} eligible members", obj=vote,
                 release=release, after={"eligible": [m.id for m in members],
                                         "closes_at": closes_at.isoformat() if closes_at else None})
    move_stage(release, "open_vote", Stage.PANEL_VOTE, actor)
    messages.vote_opened(release, vote, members)
    return vote


def _vote_facts(vote: Vote) -> tuple[Vote, ReleaseFacts]:
    """The vote under its row lock (a concurrent close waits for us, or we see it closed), and fresh facts."""
    vote = locked(Vote, vote.id)
    release = db.session.get(Release, vote.release_id)
    return vote, ReleaseFacts(release, vote=vote if vote.round == release.round else None)


def _require_seat(actor, vote: Vote, member_id: int, facts: ReleaseFacts | None = None) -> VoteMember:
    """The seat `actor` votes for, once the action table allows it."""
    seat = next((m for m in vote.members if m.member_id == member_id), None)
    if seat is None:
        raise PermissionDenied(NOT_ELIGIBLE)
    db.session.refresh(seat)
    release = db.session.get(Release, vote.release_id)
    require("cast_ballot", facts or ReleaseFacts(release, vote=vote if vote.round == release.round else None),
            actor, seat)
    return seat


def cast_vote(actor, vote: Vote, *, member_id: int, choice: Choice, comment: str, password: str) -> Ballot:
    """A member (or their alternate) casts or changes a signed ballot while the vote is open."""
    _require_seat(actor, vote, member_id)  # refusals before the password, as record_recommendation
    check_signer(actor, password)
    vote, facts = _vote_facts(vote)
    seat = _require_seat(actor, vote, member_id, facts)
    on_behalf = seat.member if seat.member_id != actor.id else None
    comment = comment.strip()
    meaning = f"voted {choice.label}" + (f" as alternate for {on_behalf.name}" if on_behalf else "")
    signature = sign(actor, password, meaning, {"vote": vote.id, "member": member_id, "choice": str(choice),
                                                "comment": comment})
    replaced = db.session.execute(sa.update(Ballot).where(
        Ballot.vote_id == vote.id, Ballot.member_id == member_id, Ballot.is_current).values(is_current=False)
        .execution_options(synchronize_session=False)).rowcount
    ballot = Ballot(vote_id=vote.id, member_id=member_id, cast_by_id=actor.id, choice=choice, comment=comment,
                    signature_id=signature.id)
    insert_once(ballot, "Another ballot for this member has just been cast. Reload the page and try again.")
    # How anyone voted stays secret until the close: the audit says who, the signed ballot says how.
    record_event(actor, "vote.ballot_changed" if replaced else "vote.ballot_cast",
                 f"Ballot {'changed' if replaced else 'cast'}" + (f" for {on_behalf.name}" if on_behalf else ""),
                 obj=ballot, on_behalf_of=on_behalf, release=facts.release)
    return ballot


def appoint_alternate(actor, vote: Vote, alternate: User) -> VoteMember:
    """A member appoints another Panel user to vote in their place in this vote."""
    vote, facts = _vote_facts(vote)
    require("appoint_alternate", facts, actor)
    seat = facts.own_seat(actor)
    if alternate is None or alternate.role != Role.PANEL or not alternate.active or alternate.id == actor.id:
        raise Invalid("Choose another active Panel user as your alternate.")
    taken = f"{alternate.name} is already an alternate for another member in this vote."
    if any(m.alternate_id == alternate.id for m in vote.members):
        raise Invalid(taken)
    try:
        with db.session.begin_nested():
            update_once(VoteMember, [VoteMember.id == seat.id, VoteMember.alternate_id.is_(None)],
                        {"alternate_id": alternate.id}, "You have already appointed an alternate for this vote.")
    except sa.exc.IntegrityError:
        raise Invalid(taken) from None
    db.session.refresh(seat)
    record_event(actor, "vote.alternate_appointed", f"{actor.name} appointed {alternate.name} as alternate",
                 obj=seat, release=facts.release, after={"alternate_id": alternate.id})
    messages.alternate_appointed(facts.release, vote, actor, alternate)
    return seat


def revoke_alternate(actor, vote: Vote) -> VoteMember:
    """A member takes their seat back from their alternate, before the alternate has voted."""
    vote, facts = _vote_facts(vote)
    require("revoke_alternate", facts, actor)
    seat = facts.own_seat(actor)
    alternate = seat.alternate
    update_once(VoteMember, [VoteMember.id == seat.id, VoteMember.alternate_id == alternate.id],
                {"alternate_id": None}, "Your alternate has just changed. Reload the page to see it.")
    db.session.refresh(seat)
    record_event(actor, "vote.alternate_revoked", f"{actor.name} revoked {alternate.name} as alternate",
                 obj=seat, release=facts.release, before={"alternate_id": alternate.id}, after={"alternate_id": None})
    return seat


def declare_conflict(actor, vote: Vote, note: str) -> VoteMember:
    """A member declares a conflict of interest: they do not vote and do not count towards quorum."""
    vote, facts = _vote_facts(vote)
    require("declare_conflict", facts, actor)
    seat = facts.own_seat(actor)
    note = note.strip()
    if not note:
        raise Invalid("Describe the conflict of interest.")
    update_once(VoteMember, [VoteMember.id == seat.id, VoteMember.conflict_note.is_(None)],
                {"conflict_note": note, "conflict_declared_at": utcnow(), "alternate_id": None},
                "You have already declared a conflict of interest in this vote.")
    db.session.refresh(seat)
    record_event(actor, "vote.conflict_declared", f"{actor.name} declared a conflict of interest", obj=seat,
                 release=facts.release, after={"note": note})
    return seat


def close_vote(actor, vote: Vote) -> Vote:
    """The Panel chair closes the vote, exactly once, with quorum; the time of the close is taken under the lock."""
    vote, facts = _vote_facts(vote)
    require("close_vote", facts, actor)  # reads the ballots after taking the row: none can still be on its way in
    tally = facts.tally
    # Taken now, under the lock, and never before a counted ballot (another server's clock may run ahead).
    latest = db.session.scalar(sa.select(sa.func.max(Ballot.cast_at)).where(Ballot.vote_id == vote.id))
    closed_at = max(utcnow(), as_utc(latest)) if latest else utcnow()
    update_once(Vote, [Vote.id == vote.id, Vote.state == VoteState.OPEN],
                {"state": VoteState.CLOSED, "closed_at": closed_at, "closed_by_id": actor.id, "outcome": tally.outcome},
                "The vote has already been closed.")
    db.session.refresh(vote)
    record_event(actor, "vote.closed", f"Panel vote closed: {tally.outcome.label}", obj=vote, release=facts.release,
                 after={"outcome": str(tally.outcome), "counts": {str(k): v for k, v in tally.counts.items()}})
    return vote


def record_decision(actor, release: Release, *, reasons: str, password: str) -> Decision:
    """The Panel chair records the decision (the closed vote's outcome) with reasons; the release moves on."""
    require("record_decision", release, actor)  # refusals before the password, as record_recommendation
    check_signer(actor, password)
    release = locked(Release, release.id)
    facts = require("record_decision", release, actor)
    vote = facts.vote
    reasons = reasons.strip()
    if not reasons:
        raise Invalid("Enter the Panel's reasons for the decision.", field="reasons")
    outcome = Outcome(vote.outcome)
    rid = release.current_rid  # the RID version the Panel decided on
    signature = sign(actor, password, f"recorded the Panel decision: {outcome.label}",
                     {"release": release.code, "round": vote.round, "vote": vote.id, "outcome": str(outcome),
                      "reasons": reasons, "rid_version": rid.number if rid else None})
    decision = Decision(release_id=release.id, round=vote.round, vote_id=vote.id, outcome=outcome, reasons=reasons,
                        planned_go_live=release.planned_go_live, recorded_by_id=actor.id,
                        rid_version_id=rid.id if rid else None, signature_id=signature.id)
    insert_once(decision, "The decision has just been recorded by someone else.")
    record_event(actor, "decision.recorded", f"Panel decision: {outcome.label}"
                 + (f" on RID version {rid.number}" if rid else ""), obj=decision, release=release,
                 after={"outcome": str(outcome), "reasons": reasons, "rid_version": rid.number if rid else None})
    move_stage(release, "record_decision", Stage.APPROVED if outcome == Outcome.GO else Stage.DEFERRED, actor)
    url = portal_path("decisions.decision", code=release.code)
    notify("decision_made", list(Role), f"{release.name}: Panel decision {outcome.label}", reasons, url=url,
           release=release)
    if outcome == Outcome.GO:
        notify("go_live_due", [Role.SECAS, Role.DCC], f"{release.name}: go-live confirmations due",
               messages.with_deadline(f"Confirm readiness and deployment for {uk_date(release.planned_go_live)}.",
                                      "Confirm", release, MilestoneKind.GO_LIVE),
               url=portal_path("decisions.go_live", code=release.code), release=release)
    else:
        messages.replan_due(release)
    return decision


# --- Go-live ---------------------------------------------------------------------------------------

def confirm_go_live(actor, release: Release, kind: ConfirmationKind, *, password: str, sec_version: str = "",
                    note: str = "") -> GoLiveConfirmation:
    """SECAS confirms readiness and the SEC changes, the DCC its deployment; with all three the release is Live."""
    require(CONFIRMATION_ACTIONS[kind], release, actor)  # refusals before the password, as record_recommendation
    check_signer(actor, password)
    release = locked(Release, release.id)
    facts = require(CONFIRMATION_ACTIONS[kind], release, actor)
    decision = facts.decision
    sec_version = sec_version.strip() if kind == ConfirmationKind.SEC_IMPLEMENTED else ""
    if kind == ConfirmationKind.SEC_IMPLEMENTED and not sec_version:
        raise Invalid("Enter the new SEC version, for example SEC v40.0.", field="sec_version")
    meaning = {ConfirmationKind.READINESS: f"confirmed ready to implement on {uk_date(release.planned_go_live)}",
               ConfirmationKind.SEC_IMPLEMENTED: f"confirmed the SEC changes implemented as {sec_version}",
               ConfirmationKind.DEPLOYMENT: "confirmed the DCC deployment"}[kind]
    signature = sign(actor, password, meaning, {"release": release.code, "decision": decision.id,
                                                "confirmation": str(kind), "sec_version": sec_version,
                                                "note": note.strip()})
    confirmation = GoLiveConfirmation(release_id=release.id, decision_id=decision.id, kind=kind,
                                      sec_version=sec_version or None, note=note.strip(), confirmed_by_id=actor.id,
                                      signature_id=signature.id)
    insert_once(confirmation, "This has just been confirmed by someone else.")
    if sec_version:
        release.sec_version = sec_version
        db.session.flush()
    record_event(actor, "golive.confirmed", f"Go-live: {kind.label}", obj=confirmation, release=release,
                 after={"confirmation": str(kind), "sec_version": sec_version or None})
    if len(facts.confirmations) + 1 == len(ConfirmationKind):
        move_stage(release, CONFIRMATION_ACTIONS[kind], Stage.LIVE, actor)
        draft_notice(actor, release)  # SECAS edits and publishes it (portal/notices)
    return confirmation


# --- No-go: re-planning and reopening criteria -------------------------------------------------------

def replan_release(actor, release: Release, *, new_go_live: dt.date, change_note: str,
                   scope_changes: dict[int, tuple[ScopeStatus, Release | None]]) -> Release:
    """SECAS sets the new go-live date and the next round begins: every milestone after baselining keeps its
    distance from go-live in Working Days, failed criteria reopen by themselves, and evidence gathering starts."""
    release = locked(Release, release.id)
    facts = require("replan", release, actor)
    old = release.planned_go_live
    if new_go_live <= old:
        raise Invalid(f"The new go-live date must be after the deferred date, {uk_date(old)}.")
    not_working = why_not_working_day(new_go_live)
    if not_working:
        raise Invalid(f"{not_working} Choose a Working Day for the go-live.")
    if not change_note.strip():
        raise Invalid("Enter a change note for the new RID version.")
    entries = {e.id: e for e in release.scope}
    for entry_id, (status, moved_to) in scope_changes.items():
        entry = entries.get(entry_id)
        if entry is None or status not in (ScopeStatus.WITHDRAWN, ScopeStatus.MOVED):
            raise Invalid("Choose modifications from this release's scope.")
        if status == ScopeStatus.MOVED and (moved_to is None or moved_to.id == release.id):
            raise Invalid(f"Choose the release {entry.mp.reference} moves to.")
        if status == ScopeStatus.MOVED:  # the one move (the target's entry, impacts, versions); ours comes below
            move_modification(actor, entry, release, moved_to, change_note, source_version=False)
            continue
        before = {"status": str(entry.status), "moved_to_id": entry.moved_to_id}
        entry.status, entry.moved_to_id = status, None
        db.session.flush()
        record_event(actor, "rid.scope_changed", f"Scope entry {entry.mp.reference}: {status.value}", obj=entry,
                     release=release, before=before, after={"status": str(status), "moved_to_id": entry.moved_to_id})
    # Every step after baselining runs again, so every milestone but the baseline moves with the go-live.
    moved = [m for m in release.milestones if m.kind != MilestoneKind.BASELINE]
    moves = [(m, m.due_on) for m in moved]  # each with its old date, for the messages
    for milestone in moved:
        milestone.due_on = (new_go_live if milestone.kind == MilestoneKind.GO_LIVE
                            else move_by_working_days(milestone.due_on, old, new_go_live))
    release.planned_go_live = new_go_live
    reopened = facts.failed_finals()
    release.round += 1
    db.session.flush()
    record_event(actor, "release.replanned", f"Go-live moved from {uk_date(old)} to {uk_date(new_go_live)}; "
                 f"round {release.round} begins", obj=release, release=release,
                 before={"planned_go_live": old.isoformat(), "round": release.round - 1},
                 after={"planned_go_live": new_go_live.isoformat(), "milestones_moved": len(moved),
                        "round": release.round, "reopened": [c.number for c in reopened]})
    for criterion in reopened:
        _reopen(actor, release, facts, criterion,
                f"its final assessment was {facts.finals[criterion.id].status.label}")
    add_rid_version(actor, release, change_note)
    waiting = ReleaseFacts(release).roles_waiting()
    move_stage(release, "replan", Stage.EVIDENCE if waiting else Stage.OPSG_REVIEW, actor)
    messages.replanned(release, old, moves, reopened, change_note)
    return release


def _reopen(actor, release: Release, facts: ReleaseFacts, criterion: Criterion, why: str) -> None:
    """The criterion's final assessment stops counting: its owner adds evidence and OpsG assesses it again."""
    decision = facts.decision
    insert_once(ReassessmentMark(release_id=release.id, decision_id=decision.id, criterion_id=criterion.id,
                                 marked_by_id=actor.id), f"Criterion {criterion.number} has just been reopened.")
    update_once(Assessment, [Assessment.criterion_id == criterion.id, Assessment.is_current_final],
                {"is_current_final": False}, f"Criterion {criterion.number} has just been reopened.")
    record_event(actor, "criterion.reopened", f"Criterion {criterion.number} reopened: {why}", obj=criterion,
                 release=release, after={"round": release.round, "why": why})


def reopen_criteria(actor, release: Release, criterion_ids: set[int]) -> list[Criterion]:
    """OpsG reopens criteria after a No-go beyond those that reopen by themselves."""
    release = locked(Release, release.id)
    facts = require("reopen_criteria", release, actor)
    chosen = [c for c in facts.criteria if c.id in criterion_ids]
    if not chosen or len(chosen) != len(criterion_ids):
        raise Invalid("Choose one or more of this release's criteria.")
    already_open = [c.number for c in chosen if facts.is_open(c)]
    if already_open:
        raise Invalid(f"Criteria {', '.join(map(str, already_open))} are already open: choose criteria that have "
                      "a final assessment.")
    for criterion in chosen:
        _reopen(actor, release, facts, criterion, "OpsG reopened it")
    return chosen


# --- What the release page shows ------------------------------------------------------------------

@dataclass
class DecisionSummary:
    round: int
    recommendation: Recommendation | None
    earlier_recommendations: int
    vote: Vote | None
    tally: Tally | None
    decision: Decision | None
    confirmations: dict[ConfirmationKind, GoLiveConfirmation]
    reopened: list[Criterion]
    conditions: list[Condition] = field(default_factory=list)
    actions: list[Offer] = field(default_factory=list)
    next_steps: list[tuple[str, str]] = field(default_factory=list)
    confirmation_labels = CONFIRMATION_LABELS


def decision_summary(release: Release, user, facts: ReleaseFacts | None = None) -> DecisionSummary:
    """What the top of the release page shows: recommendation, vote, decision, go-live, this user's actions and
    who acts next."""
    facts = facts or ReleaseFacts(release)
    # This round's recommendation, or the last round's while OpsG has not recorded a new one.
    recommendations = [] if facts.before_any_recommendation else list(
        db.session.scalars(sa.select(Recommendation).where(
            Recommendation.release_id == release.id, Recommendation.round.in_((release.round, release.round - 1)))
            .options(joinedload(Recommendation.signature), joinedload(Recommendation.condition_rows))).unique())
    current = {r.round: r for r in recommendations if r.is_current}
    facts.__dict__.setdefault("recommendation", current.get(release.round))  # the guards need not read it again
    recommendation = current.get(release.round) or current.get(release.round - 1)
    earlier = sum(1 for r in recommendations if recommendation and r.round == recommendation.round
                  and not r.is_current)
    decision = facts.decision
    reopened = [] if decision is None or decision.outcome != Outcome.NO_GO else list(db.session.scalars(
        sa.select(Criterion).join(ReassessmentMark, ReassessmentMark.criterion_id == Criterion.id)
        .where(ReassessmentMark.decision_id == decision.id).order_by(Criterion.number)))
    vote = facts.vote
    conditions = list(recommendation.condition_rows) if recommendation is not None and recommendation.conditions else []
    return DecisionSummary(release.round, recommendation, earlier, vote, facts.tally, decision,
                           facts.confirmations, reopened, conditions,
                           next_steps(facts, user), who_acts_next(facts))
