"""Recommendation (OpsG chair), vote and decision (Panel), go-live (SECAS, DCC) and deferral (SECAS, OpsG)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..access import Conflict, Invalid, PermissionDenied, Role
from ..audit.services import record_event
from ..auth.models import User
from ..criteria.models import Assessment
from ..extensions import db
from ..notifications.services import notify, portal_path
from ..releases.models import Criterion, MilestoneKind, Release, ScopeStatus, Stage
from ..releases.services import add_rid_version
from ..releases.workflow import BY_NAME, apply_transition, why_not
from ..signatures import sign
from ..timeutil import as_utc, uk_date, utcnow
from .guards import (all_criteria_finally_assessed, confirmations, criteria_needing_reassessment,
                     criteria_not_finally_assessed, current_recommendation, current_round, decisions_of,
                     latest_decision, latest_vote)
from .models import (CONFIRMATION_LABELS, Ballot, Choice, ConfirmationKind, Decision, GoLiveConfirmation,
                     Outcome, ReassessmentMark, Recommendation, RecommendationKind, Vote, VoteMember, VoteState)

__all__ = ["all_criteria_finally_assessed", "criteria_needing_reassessment"]


def _locked(model, id_: int):
    """Re-read one row under a row lock (PostgreSQL); SQLite's IMMEDIATE transaction already serialises writers."""
    return db.session.execute(sa.select(model).where(model.id == id_).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()


def _insert_once(row, message: str) -> None:
    """Insert `row`; a unique-constraint clash with a concurrent request becomes a clear 409."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except sa.exc.IntegrityError:
        raise Conflict(message) from None


def _check_chair(actor, role: Role, what: str) -> None:
    if actor.role != role or not actor.is_chair:
        raise PermissionDenied(f"Only the {role.label} chair can {what}.")


# --- The OpsG recommendation -----------------------------------------------------------------------

def record_recommendation(actor, release: Release, *, kind: RecommendationKind, conditions: list[str],
                          reasons: str, password: str) -> Recommendation:
    """The OpsG chair records (or revises) the signed recommendation to the Panel."""
    _check_chair(actor, Role.OPSG, "record the recommendation")
    release = _locked(Release, release.id)
    if release.stage != Stage.OPSG_REVIEW:
        if release.stage == Stage.PANEL_VOTE:
            raise Conflict("The Panel vote has opened: the recommendation can no longer be revised.")
        raise Conflict(f"The release is at '{release.stage.label}': a recommendation is made during OpsG review.")
    missing = criteria_not_finally_assessed(release)
    if missing or not release.criteria:
        numbers = ", ".join(str(c.number) for c in missing)
        raise Conflict(f"Every criterion needs a final OpsG assessment before the recommendation "
                       f"(still to assess: criteria {numbers}).")
    conditions = [c.strip() for c in conditions if c.strip()]
    reasons = reasons.strip()
    if kind == RecommendationKind.WITH_CONDITIONS and not conditions:
        raise Invalid("List the conditions, one on each line.")
    if kind != RecommendationKind.WITH_CONDITIONS:
        conditions = []
    if not reasons:
        raise Invalid("Enter the reasons for the recommendation.")
    round_ = current_round(release)
    signature = sign(actor, password, f"recommended: {kind.label}",
                     {"release": release.code, "round": round_, "recommendation": str(kind),
                      "conditions": conditions, "reasons": reasons})
    earlier = current_recommendation(release, round_)
    if earlier is not None:
        earlier.is_current = False
        db.session.flush()
    recommendation = Recommendation(release_id=release.id, round=round_, kind=kind, conditions=conditions,
                                    reasons=reasons, recorded_by_id=actor.id, signature_id=signature.id)
    _insert_once(recommendation, "Someone else has just recorded a recommendation. Reload the page to see it.")
    record_event(actor, "recommendation.recorded", f"OpsG recommendation: {kind.label}", obj=recommendation,
                 release=release, before={"recommendation": str(earlier.kind)} if earlier else None,
                 after={"recommendation": str(kind), "conditions": conditions})
    notify("recommendation_recorded", [Role.PANEL, Role.SECAS], f"{release.name}: OpsG recommendation recorded",
           f"OpsG recommends: {kind.label}.", url=portal_path("decisions.decision", code=release.code),
           release=release)
    return recommendation


# --- The Panel vote --------------------------------------------------------------------------------

@dataclass
class Tally:
    eligible: list[VoteMember]
    conflicted: list[VoteMember]
    voted_ids: set[int]
    counts: dict[Choice, int]
    quorum_needed: int
    has_quorum: bool
    outcome: Outcome | None

    @property
    def remaining(self) -> int:
        return len(self.eligible) - len(self.voted_ids)


def current_ballots(vote: Vote) -> list[Ballot]:
    return list(db.session.scalars(sa.select(Ballot).where(Ballot.vote_id == vote.id, Ballot.is_current)
                                   .order_by(Ballot.id)))


def count_vote(vote: Vote, members: list[VoteMember] | None = None) -> Tally:
    """Apply the vote's rules to the current ballots (the outcome is None without quorum). `members` may pass the
    vote's seats when they were loaded with the vote in this request (guards.latest_vote)."""
    if members is None:
        members = list(db.session.scalars(sa.select(VoteMember).where(VoteMember.vote_id == vote.id)
                                          .order_by(VoteMember.id)))
    eligible = [m for m in members if not m.is_conflicted]
    eligible_ids = {m.member_id for m in eligible}
    ballots = [b for b in current_ballots(vote) if b.member_id in eligible_ids]
    counts = {c: sum(1 for b in ballots if b.choice == c) for c in Choice}
    counted = len(ballots) if vote.abstentions_count_to_quorum else counts[Choice.GO] + counts[Choice.NO_GO]
    quorum_needed = len(eligible) // 2 + 1
    has_quorum = bool(eligible) and counted >= quorum_needed
    outcome = None
    if has_quorum:
        if counts[Choice.GO] != counts[Choice.NO_GO]:
            outcome = Outcome.GO if counts[Choice.GO] > counts[Choice.NO_GO] else Outcome.NO_GO
        else:
            chair = next((b for b in ballots if b.member_id == vote.chair_id), None)
            casting = vote.chair_has_casting_vote and chair is not None and chair.choice == Choice.GO
            outcome = Outcome.GO if casting else Outcome.NO_GO
    return Tally(eligible, [m for m in members if m.is_conflicted], {b.member_id for b in ballots}, counts,
                 quorum_needed, has_quorum, outcome)


def open_vote(actor, release: Release, *, closes_at: dt.datetime | None = None) -> Vote:
    """The Panel chair opens the vote; every active Panel user is eligible from now on."""
    _check_chair(actor, Role.PANEL, "open the vote")
    if closes_at is not None and as_utc(closes_at) <= utcnow():
        raise Invalid("The closing time must be in the future.")
    members = list(db.session.scalars(sa.select(User).where(User.role == Role.PANEL, User.active)
                                      .order_by(User.name)))
    apply_transition(release, "open_vote", actor)
    vote = Vote(release_id=release.id, round=current_round(release), chair_id=actor.id, closes_at=closes_at)
    _insert_once(vote, "The vote has just been opened by someone else.")
    db.session.add_all(VoteMember(vote_id=vote.id, member_id=m.id) for m in members)
    db.session.flush()
    record_event(actor, "vote.opened", f"Panel vote opened with {len(members)} eligible members", obj=vote,
                 release=release, after={"eligible": [m.id for m in members],
                                         "closes_at": closes_at.isoformat() if closes_at else None})
    notify("vote_opened", [Role.PANEL], f"{release.name}: the Panel go/no-go vote is open",
           "Cast your vote in the portal.", url=portal_path("decisions.vote", code=release.code), release=release)
    return vote


def seats(vote: Vote, user) -> list[VoteMember]:
    """Whom `user` may vote for now: themselves (unless conflicted or stood in for) and whoever appointed them."""
    if user.role != Role.PANEL:
        return []
    return [m for m in vote.members if not m.is_conflicted and (
        (m.member_id == user.id and m.alternate_id is None) or m.alternate_id == user.id)]


def _check_vote_open(vote: Vote) -> None:
    if vote.state != VoteState.OPEN:
        raise Conflict("The vote is closed: ballots can no longer be cast or changed.")
    if vote.closes_at is not None and as_utc(vote.closes_at) <= utcnow():
        raise Conflict("The voting time has ended: ballots can no longer be cast or changed.")


def _own_seat(actor, vote: Vote) -> VoteMember:
    seat = next((m for m in vote.members if m.member_id == actor.id), None)
    if seat is None:
        raise PermissionDenied("You are not an eligible member in this vote.")
    return seat


def _has_ballot(vote: Vote, member_id: int) -> bool:
    return db.session.scalar(sa.select(Ballot.id).where(
        Ballot.vote_id == vote.id, Ballot.member_id == member_id, Ballot.is_current)) is not None


def cast_vote(actor, vote: Vote, *, member_id: int, choice: Choice, comment: str, password: str) -> Ballot:
    """A member (or their alternate) casts or changes a signed ballot while the vote is open."""
    vote = _locked(Vote, vote.id)  # a concurrent close waits for us, or we see it closed
    _check_vote_open(vote)
    seat = next((m for m in vote.members if m.member_id == member_id), None)
    if seat is None or actor.id not in (seat.member_id, seat.alternate_id):
        raise PermissionDenied("You are not an eligible member in this vote.")
    db.session.refresh(seat)
    if seat.is_conflicted:
        raise Conflict("A conflict of interest has been declared for this member, so no ballot can be cast.")
    if seat.member_id == actor.id and seat.alternate_id is not None:
        raise Conflict(f"You appointed {seat.alternate.name} as your alternate: they vote in your place.")
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
    _insert_once(ballot, "Another ballot for this member has just been cast. Reload the page and try again.")
    # How anyone voted stays secret until the close: the audit says who, the signed ballot says how.
    record_event(actor, "vote.ballot_changed" if replaced else "vote.ballot_cast",
                 f"Ballot {'changed' if replaced else 'cast'}" + (f" for {on_behalf.name}" if on_behalf else ""),
                 obj=ballot, on_behalf_of=on_behalf,
                 release=db.session.get(Release, vote.release_id))
    return ballot


def appoint_alternate(actor, vote: Vote, alternate: User) -> VoteMember:
    """A member appoints another Panel user to vote in their place in this vote."""
    vote = _locked(Vote, vote.id)
    _check_vote_open(vote)
    seat = _own_seat(actor, vote)
    if alternate.role != Role.PANEL or not alternate.active or alternate.id == actor.id:
        raise Invalid("Choose another active Panel user as your alternate.")
    if seat.is_conflicted:
        raise Conflict("You declared a conflict of interest, so nobody can vote in your place.")
    if _has_ballot(vote, actor.id):
        raise Conflict("You have already voted, so you cannot appoint an alternate now.")
    if any(m.alternate_id == alternate.id for m in vote.members):
        raise Conflict(f"{alternate.name} is already an alternate for another member in this vote.")
    try:
        with db.session.begin_nested():
            done = db.session.execute(
                sa.update(VoteMember).where(VoteMember.id == seat.id, VoteMember.alternate_id.is_(None))
                .values(alternate_id=alternate.id).execution_options(synchronize_session=False))
    except sa.exc.IntegrityError:
        raise Conflict(f"{alternate.name} is already an alternate for another member in this vote.") from None
    if done.rowcount != 1:
        raise Conflict("You have already appointed an alternate for this vote.")
    db.session.refresh(seat)
    record_event(actor, "vote.alternate_appointed", f"{actor.name} appointed {alternate.name} as alternate",
                 obj=seat, release=db.session.get(Release, vote.release_id), after={"alternate_id": alternate.id})
    return seat


def declare_conflict(actor, vote: Vote, note: str) -> VoteMember:
    """A member declares a conflict of interest: they do not vote and do not count towards quorum."""
    vote = _locked(Vote, vote.id)
    _check_vote_open(vote)
    seat = _own_seat(actor, vote)
    note = note.strip()
    if not note:
        raise Invalid("Describe the conflict of interest.")
    if _has_ballot(vote, actor.id):
        raise Conflict("A ballot has already been cast for you, so you cannot declare a conflict now.")
    done = db.session.execute(sa.update(VoteMember).where(VoteMember.id == seat.id, VoteMember.conflict_note.is_(None))
                              .values(conflict_note=note, conflict_declared_at=utcnow(), alternate_id=None)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("You have already declared a conflict of interest in this vote.")
    db.session.refresh(seat)
    record_event(actor, "vote.conflict_declared", f"{actor.name} declared a conflict of interest", obj=seat,
                 release=db.session.get(Release, vote.release_id), after={"note": note})
    return seat


def close_vote(actor, vote: Vote) -> Vote:
    """The Panel chair closes the vote, exactly once; without quorum it stays open."""
    _check_chair(actor, Role.PANEL, "close the vote")
    closed = db.session.execute(sa.update(Vote).where(Vote.id == vote.id, Vote.state == VoteState.OPEN)
                                .values(state=VoteState.CLOSED, closed_at=utcnow(), closed_by_id=actor.id)
                                .execution_options(synchronize_session=False))
    if closed.rowcount != 1:
        raise Conflict("The vote has already been closed.")
    db.session.refresh(vote)
    tally = count_vote(vote)  # read after taking the row: no ballot can still be on its way in
    if not tally.has_quorum:
        raise Conflict(f"No quorum: {len(tally.voted_ids)} of {len(tally.eligible)} eligible members have voted; "
                       f"at least {tally.quorum_needed} must vote before the vote can close with an outcome.")
    vote.outcome = tally.outcome
    db.session.flush()
    record_event(actor, "vote.closed", f"Panel vote closed: {tally.outcome.label}", obj=vote,
                 release=db.session.get(Release, vote.release_id),
                 after={"outcome": str(tally.outcome), "counts": {str(k): v for k, v in tally.counts.items()}})
    return vote


def record_decision(actor, release: Release, *, reasons: str, password: str) -> Decision:
    """The Panel chair records the decision (the closed vote's outcome) with reasons; the release moves on."""
    _check_chair(actor, Role.PANEL, "record the Panel's decision")
    release = _locked(Release, release.id)
    vote = latest_vote(release)
    if release.stage != Stage.PANEL_VOTE or vote is None:
        raise Conflict(f"The release is at '{release.stage.label}': there is no Panel vote to decide.")
    if vote.state != VoteState.CLOSED:
        raise Conflict("Close the vote before recording the decision.")
    reasons = reasons.strip()
    if not reasons:
        raise Invalid("Enter the Panel's reasons for the decision.")
    outcome = Outcome(vote.outcome)
    signature = sign(actor, password, f"recorded the Panel decision: {outcome.label}",
                     {"release": release.code, "round": vote.round, "vote": vote.id, "outcome": str(outcome),
                      "reasons": reasons})
    decision = Decision(release_id=release.id, round=vote.round, vote_id=vote.id, outcome=outcome, reasons=reasons,
                        planned_go_live=release.planned_go_live, recorded_by_id=actor.id,
                        signature_id=signature.id)
    _insert_once(decision, "The decision has just been recorded by someone else.")
    record_event(actor, "decision.recorded", f"Panel decision: {outcome.label}", obj=decision, release=release,
                 after={"outcome": str(outcome), "reasons": reasons})
    apply_transition(release, "decide_go" if outcome == Outcome.GO else "decide_no_go", actor)
    url = portal_path("decisions.decision", code=release.code)
    notify("decision_made", list(Role), f"{release.name}: Panel decision {outcome.label}", reasons, url=url,
           release=release)
    if outcome == Outcome.GO:
        notify("go_live_due", [Role.SECAS, Role.DCC], f"{release.name}: go-live confirmations due",
               f"Confirm readiness and deployment for {uk_date(release.planned_go_live)}.", url=url, release=release)
    return decision


# --- Go-live ---------------------------------------------------------------------------------------

CONFIRMATION_ROLES = {ConfirmationKind.READINESS: Role.SECAS, ConfirmationKind.SEC_IMPLEMENTED: Role.SECAS,
                      ConfirmationKind.DEPLOYMENT: Role.DCC}


def confirm_go_live(actor, release: Release, kind: ConfirmationKind, *, password: str, sec_version: str = "",
                    note: str = "") -> GoLiveConfirmation:
    """SECAS confirms readiness and the SEC changes, the DCC its deployment; with all three the release is Live."""
    if actor.role != CONFIRMATION_ROLES[kind]:
        raise PermissionDenied(f"Only {CONFIRMATION_ROLES[kind].label} can confirm this.")
    release = _locked(Release, release.id)
    if release.stage != Stage.APPROVED:
        raise Conflict(f"The release is at '{release.stage.label}': go-live is confirmed only after a Go decision.")
    decision = latest_decision(release)
    done = confirmations(decision)
    if kind in done:
        raise Conflict(f"This has already been confirmed by {done[kind].confirmed_by.name}.")
    if kind != ConfirmationKind.READINESS and ConfirmationKind.READINESS not in done:
        raise Conflict("SECAS must first confirm it is ready to implement on the agreed date.")
    sec_version = sec_version.strip() if kind == ConfirmationKind.SEC_IMPLEMENTED else ""
    if kind == ConfirmationKind.SEC_IMPLEMENTED and not sec_version:
        raise Invalid("Enter the new SEC version, for example SEC v40.0.")
    meaning = {ConfirmationKind.READINESS: f"confirmed ready to implement on {uk_date(release.planned_go_live)}",
               ConfirmationKind.SEC_IMPLEMENTED: f"confirmed the SEC changes implemented as {sec_version}",
               ConfirmationKind.DEPLOYMENT: "confirmed the DCC deployment"}[kind]
    signature = sign(actor, password, meaning, {"release": release.code, "decision": decision.id,
                                                "confirmation": str(kind), "sec_version": sec_version,
                                                "note": note.strip()})
    confirmation = GoLiveConfirmation(release_id=release.id, decision_id=decision.id, kind=kind,
                                      sec_version=sec_version or None, note=note.strip(), confirmed_by_id=actor.id,
                                      signature_id=signature.id)
    _insert_once(confirmation, "This has just been confirmed by someone else.")
    if sec_version:
        release.sec_version = sec_version
        db.session.flush()
    record_event(actor, "golive.confirmed", f"Go-live: {kind.label}", obj=confirmation, release=release,
                 after={"confirmation": str(kind), "sec_version": sec_version or None})
    if why_not(BY_NAME["go_live"], release, actor) is None:
        apply_transition(release, "go_live", actor)
    return confirmation


# --- No-go: deferral and re-planning ---------------------------------------------------------------

def replan_release(actor, release: Release, *, new_go_live: dt.date, change_note: str,
                   scope_changes: dict[int, tuple[ScopeStatus, Release | None]]) -> Release:
    """SECAS sets the new go-live date: the timeline after baselining shifts by the same days; back to evidence."""
    if actor.role != Role.SECAS:
        raise PermissionDenied("Only SECAS can re-plan a deferred release.")
    release = _locked(Release, release.id)
    if release.stage != Stage.DEFERRED:
        raise Conflict(f"The release is at '{release.stage.label}': only a deferred release is re-planned.")
    old = release.planned_go_live
    if new_go_live <= old:
        raise Invalid(f"The new go-live date must be after the deferred date, {uk_date(old)}.")
    if not change_note.strip():
        raise Invalid("Enter a change note for the new RID version.")
    entries = {e.id: e for e in release.scope}
    for entry_id, (status, moved_to) in scope_changes.items():
        entry = entries.get(entry_id)
        if entry is None or status not in (ScopeStatus.WITHDRAWN, ScopeStatus.MOVED):
            raise Invalid("Choose modifications from this release's scope.")
        if status == ScopeStatus.MOVED and (moved_to is None or moved_to.id == release.id):
            raise Invalid(f"Choose the release {entry.mp.reference} moves to.")
        before = {"status": str(entry.status), "moved_to_id": entry.moved_to_id}
        entry.status, entry.moved_to_id = status, moved_to.id if status == ScopeStatus.MOVED else None
        db.session.flush()
        record_event(actor, "rid.scope_changed", f"Scope entry {entry.mp.reference}: {status.value}", obj=entry,
                     release=release, before=before, after={"status": str(status), "moved_to_id": entry.moved_to_id})
    shift = new_go_live - old
    # Every step after baselining runs again, so every milestone but the baseline moves by the same days.
    moved = [m for m in release.milestones if m.kind != MilestoneKind.BASELINE]
    for milestone in moved:
        milestone.due_on += shift
    release.planned_go_live = new_go_live
    db.session.flush()
    record_event(actor, "release.replanned", f"Go-live moved from {uk_date(old)} to {uk_date(new_go_live)}",
                 obj=release, release=release, before={"planned_go_live": old.isoformat()},
                 after={"planned_go_live": new_go_live.isoformat(), "milestones_moved": len(moved),
                        "days": shift.days})
    add_rid_version(actor, release, change_note)
    apply_transition(release, "replan", actor)
    return release


def mark_for_reassessment(actor, release: Release, criterion_ids: set[int]) -> list[Criterion]:
    """OpsG marks criteria to assess again after a No-go: their final assessment stops counting."""
    if actor.role != Role.OPSG:
        raise PermissionDenied("Only OpsG can mark criteria for re-assessment.")
    decision = latest_decision(release)
    if decision is None or decision.outcome != Outcome.NO_GO or release.stage not in (Stage.DEFERRED, Stage.EVIDENCE):
        raise Conflict("Criteria are marked for re-assessment after a No-go decision, before OpsG review.")
    chosen = [c for c in release.criteria if c.id in criterion_ids]
    if not chosen or len(chosen) != len(criterion_ids):
        raise Invalid("Choose one or more of this release's criteria.")
    already = set(db.session.scalars(sa.select(ReassessmentMark.criterion_id)
                                     .where(ReassessmentMark.decision_id == decision.id)))
    marked = []
    for criterion in chosen:
        if criterion.id in already:
            continue
        _insert_once(ReassessmentMark(release_id=release.id, decision_id=decision.id, criterion_id=criterion.id,
                                      marked_by_id=actor.id), "These criteria have just been marked by someone else.")
        db.session.execute(sa.update(Assessment).where(Assessment.criterion_id == criterion.id,
                                                       Assessment.is_current_final)
                           .values(is_current_final=False).execution_options(synchronize_session=False))
        record_event(actor, "criterion.reassessment_marked", f"Criterion {criterion.number} to be re-assessed",
                     obj=criterion, release=release)
        marked.append(criterion)
    if not marked:
        raise Conflict("Those criteria are already marked for re-assessment.")
    return marked


# --- What the release page shows ------------------------------------------------------------------

@dataclass
class Action:
    label: str
    url: str
    reason: str | None = None


@dataclass
class DecisionSummary:
    round: int
    recommendation: Recommendation | None
    earlier_recommendations: int
    vote: Vote | None
    tally: Tally | None
    decision: Decision | None
    confirmations: dict[ConfirmationKind, GoLiveConfirmation]
    needing_reassessment: list[Criterion]
    actions: list[Action] = field(default_factory=list)
    confirmation_labels = CONFIRMATION_LABELS


def _transition_reason(release: Release, name: str, user) -> str | None:
    return why_not(BY_NAME[name], release, user)


def _actions(release: Release, user, summary: DecisionSummary) -> list[Action]:
    code = release.code
    actions: list[Action] = []
    if user.role == Role.OPSG and user.is_chair and release.stage in (Stage.EVIDENCE, Stage.OPSG_REVIEW):
        reason = None if release.stage == Stage.OPSG_REVIEW else "The release is not in OpsG review yet."
        missing = criteria_not_finally_assessed(release)
        if reason is None and missing:
            reason = f"{len(missing)} criteria still need a final assessment."
        label = "Revise the recommendation" if summary.recommendation else "Record the recommendation"
        actions.append(Action(label, portal_path("decisions.recommendation", code=code), reason))
    if user.role == Role.OPSG and release.stage in (Stage.DEFERRED, Stage.EVIDENCE) and summary.decision \
            and summary.decision.outcome == Outcome.NO_GO:
        actions.append(Action("Mark criteria for re-assessment", portal_path("decisions.reassessment", code=code)))
    if user.role == Role.PANEL and user.is_chair and release.stage == Stage.OPSG_REVIEW:
        actions.append(Action("Open the Panel vote", portal_path("decisions.vote", code=code),
                              _transition_reason(release, "open_vote", user)))
    if user.role == Role.PANEL and release.stage == Stage.PANEL_VOTE and summary.vote:
        actions.append(Action("Go to the vote", portal_path("decisions.vote", code=code)))
    if release.stage == Stage.APPROVED and user.role in (Role.SECAS, Role.DCC):
        for kind, role in CONFIRMATION_ROLES.items():
            if role == user.role and kind not in summary.confirmations:
                reason = None
                if kind != ConfirmationKind.READINESS and ConfirmationKind.READINESS not in summary.confirmations:
                    reason = "SECAS has not confirmed readiness yet."
                actions.append(Action(f"Confirm: {kind.label}", portal_path("decisions.go_live", code=code), reason))
    if user.role == Role.SECAS and release.stage == Stage.DEFERRED:
        actions.append(Action("Set a new go-live date", portal_path("decisions.replan", code=code)))
    return actions


def decision_summary(release: Release, user) -> DecisionSummary:
    """What the top of the release page shows: recommendation, vote, decision, go-live, and this user's actions.
    The decisions and the recommendations of the last two rounds are read once each, with their signatures."""
    decisions = decisions_of(release)
    round_ = current_round(release, decisions)
    decision = decisions[0] if decisions else None
    # This round's recommendation, or the last round's while OpsG has not recorded a new one.
    recommendations = list(db.session.scalars(sa.select(Recommendation).where(
        Recommendation.release_id == release.id, Recommendation.round.in_((round_, round_ - 1)))
        .options(joinedload(Recommendation.signature))))
    current = {r.round: r for r in recommendations if r.is_current}
    recommendation = current.get(round_) or current.get(round_ - 1)
    earlier = sum(1 for r in recommendations if recommendation and r.round == recommendation.round
                  and not r.is_current)
    vote = latest_vote(release)
    summary = DecisionSummary(round_, recommendation, earlier, vote,
                              count_vote(vote, vote.members) if vote else None, decision,
                              confirmations(decision), criteria_needing_reassessment(release, decision))
    summary.actions = _actions(release, user, summary)
    return summary
