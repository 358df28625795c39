"""Who may do what to a release, and when: one table of every action a person takes, and the functions that read it.

Each action has its roles (and whether only the group's chair, or only the criterion's owner, may take it), the
stages it is open in, a guard that says why not yet (or nothing), the stages it can move the release to, and
whether the process waits on it (then it is somebody's task, and names who acts next). `refusal` answers why an
action is refused (403 for the role, the chair or the owner; 409 for the stage or the guard); every service begins
with `require`; `offers` and `available_actions` are the only source of the buttons, My tasks, the "next step"
box and "who acts next". Guards read `queries.ReleaseFacts` and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .access import Conflict, PermissionDenied, Role
from .audit.services import record_event
from .criteria.models import EvidenceRequest, RequestState
from .decisions.models import Condition, ConditionState, ConfirmationKind, VoteMember, VoteState
from .database import update_once
from .criteria.evidence_models import EvidenceFile
from .extensions import db
from .queries import ReleaseFacts
from .releases.models import Criterion, Release, ScopeEntry, ScopeStatus, Stage
from .timeutil import as_utc, utcnow
from .urls import portal_path

# guard(facts, user, subject) -> why not yet (a 409), or None. A guard returns a PermissionDenied (a 403) when
# the refusal is about who the user is (not a member of this vote). `user` is None when asking whether anyone
# could act (who acts next): a guard then checks only the release's state.
Guard = Callable[[ReleaseFacts, Any, Any], "str | PermissionDenied | None"]
NOT_ELIGIBLE = "You are not an eligible member in this vote."


class Settled(str):
    """A guard's reason meaning the step is behind us or does not apply (already submitted, already closed): a
    replayed post still gets its 409, but no page offers the step as "not yet"."""
Waits = Callable[[ReleaseFacts, Any, Any], bool]

ALL_STAGES = frozenset(Stage)
GATHERING = frozenset({Stage.EVIDENCE, Stage.OPSG_REVIEW})


def _always(facts, user, subject) -> None:
    return None


def _never(facts, user, subject) -> bool:
    return False


def _yes(facts, user, subject) -> bool:
    return True


# --- Guards ------------------------------------------------------------------------------------------------

def _rid_complete(facts: ReleaseFacts, user, subject) -> str | None:
    if not facts.criteria:
        return "The RID has no acceptance criteria yet."
    if not facts.release.milestones:
        return "The RID has no implementation timeline yet."
    return None


def _criterion_open(facts: ReleaseFacts, user, criterion: Criterion) -> str | None:
    if not facts.is_open(criterion):
        return (f"OpsG has made its final assessment of criterion {criterion.number}, so its evidence is locked"
                f"{'' if facts.stage == Stage.OPSG_REVIEW else ' until OpsG reopens it'}.")
    return None


def _file_changeable(facts: ReleaseFacts, user, evidence: EvidenceFile) -> str | None:
    if not evidence.is_current:
        return "That file has already been withdrawn or replaced. Reload the page to see the current files."
    return _criterion_open(facts, user, evidence.criterion)


def _submit_refusal(facts: ReleaseFacts, role: Role) -> str | None:
    if role not in facts.roles_to_submit():
        return Settled(f"{role.label} has no criteria open in round {facts.round}, so it has nothing to submit.")
    if role in facts.submitted:
        return Settled(f"{role.label} has already submitted its evidence for round {facts.round}.")
    missing = facts.missing_evidence(role)
    if missing:
        numbers = ", ".join(str(c.number) for c in missing)
        return (f"Criteria {numbers} need a file or a written statement before the evidence can be submitted."
                if len(missing) > 1 else
                f"Criterion {numbers} needs a file or a written statement before the evidence can be submitted.")
    return None


def _ready_to_submit(facts: ReleaseFacts) -> list[Role]:
    """The owners still waited on whose evidence is complete: each may submit now, whatever the other does."""
    return [role for role in facts.roles_waiting() if _submit_refusal(facts, role) is None]


def _can_submit(facts: ReleaseFacts, user, subject) -> str | None:
    if user is not None:
        return _submit_refusal(facts, user.role)
    waiting = facts.roles_waiting()  # who acts next: whether any owner could submit now
    if not waiting:
        return Settled("Every owner has submitted its evidence.")
    return None if _ready_to_submit(facts) else _submit_refusal(facts, waiting[0])


def _can_assess_preliminary(facts: ReleaseFacts, user, criterion: Criterion) -> str | None:
    if not facts.is_open(criterion):
        return (f"Criterion {criterion.number} has its final assessment: a preliminary assessment cannot stand "
                "over it. Revise the final assessment instead.")
    return None


def _unclosed(request: EvidenceRequest) -> str:
    """The criterion's request that OpsG has not closed, as it stands (an answered one is no longer "open")."""
    number = request.criterion.number
    if request.state == RequestState.ANSWERED:
        return f"The owner has answered the evidence request on criterion {number}: review the answer."
    return f"The evidence request on criterion {number} is waiting for the owner's answer."


def _can_assess_final(facts: ReleaseFacts, user, criterion: Criterion) -> str | None:
    if not facts.is_open(criterion):
        return f"Criterion {criterion.number} already has a final assessment. Revise it, giving a reason."
    if criterion.id in facts.requests:
        return f"{_unclosed(facts.requests[criterion.id])} Close it before making the final assessment."
    return None


def _can_revise_final(facts: ReleaseFacts, user, criterion: Criterion) -> str | None:
    if facts.is_open(criterion):
        return f"Criterion {criterion.number} has no final assessment to revise."
    return None


def _can_request(facts: ReleaseFacts, user, criterion: Criterion) -> str | None:
    if criterion.id in facts.requests:
        return f"{_unclosed(facts.requests[criterion.id])} Close it or ask again on it."
    return _criterion_open(facts, user, criterion)


def _request_waiting(facts: ReleaseFacts, user, request: EvidenceRequest) -> str | None:
    if request.state != RequestState.OPEN:
        return "This request is not waiting for an answer."
    return _criterion_open(facts, user, request.criterion)


def _request_unclosed(facts: ReleaseFacts, user, request: EvidenceRequest) -> str | None:
    return "This request is closed." if request.state == RequestState.CLOSED else None


def _request_answered(facts: ReleaseFacts, user, request: EvidenceRequest) -> str | None:
    if request.state != RequestState.ANSWERED:
        return "You can ask again once the owner has answered."
    return _criterion_open(facts, user, request.criterion)


def _can_reopen(facts: ReleaseFacts, user, subject) -> str | None:
    if facts.stage == Stage.EVIDENCE and facts.round == 1:
        return Settled("Criteria are reopened after a No-go decision.")
    if not facts.finals:
        return Settled("Every criterion is already open in this round.")
    return None


def _all_finally_assessed(facts: ReleaseFacts, user, subject) -> str | None:
    missing = facts.open_criteria()
    if not facts.criteria or missing:
        numbers = ", ".join(str(c.number) for c in missing)
        return (f"Every criterion needs a final OpsG assessment before the recommendation "
                f"(still to assess: {'criterion' if len(missing) == 1 else 'criteria'} {numbers}).")
    return None


def _can_open_vote(facts: ReleaseFacts, user, subject) -> str | None:
    if facts.recommendation is None:
        return "OpsG has not recorded its recommendation yet."
    if facts.vote is not None:
        return Settled("The Panel vote for this round has already been opened.")
    return None


def _voting_open(facts: ReleaseFacts) -> str | None:
    vote = facts.vote
    if vote is None or vote.state != VoteState.OPEN:
        return "The vote is closed: ballots can no longer be cast or changed."
    if vote.closes_at is not None and as_utc(vote.closes_at) <= utcnow():
        return "The voting time has ended: ballots can no longer be cast or changed."
    return None


def _own_seat(facts: ReleaseFacts, user):
    """(the user's own seat, None) while the vote is open, else (None, why not); (None, None) when anyone asks."""
    reason = _voting_open(facts)
    if reason or user is None:
        return None, reason
    seat = facts.own_seat(user)
    return (seat, None) if seat is not None else (None, PermissionDenied(NOT_ELIGIBLE))


def _own_seat_free(facts: ReleaseFacts, user) -> str | None:
    """The checks shared by appointing an alternate and declaring a conflict: your own seat, no ballot yet."""
    seat, reason = _own_seat(facts, user)
    if seat is None:
        return reason
    if seat.is_conflicted:
        return "You have declared a conflict of interest in this vote."
    if facts.has_ballot(user.id):
        return "A ballot has already been cast for you in this vote."
    return None


def _can_appoint(facts: ReleaseFacts, user, subject) -> str | None:
    reason = _own_seat_free(facts, user)
    if reason is None and user is not None and facts.own_seat(user).alternate_id is not None:
        return f"You have appointed {facts.own_seat(user).alternate.name} as your alternate."
    return reason


def _can_revoke(facts: ReleaseFacts, user, subject) -> str | None:
    seat, reason = _own_seat(facts, user)
    if seat is None:
        return reason
    if seat.alternate_id is None:
        return "You have not appointed an alternate in this vote."
    if facts.has_ballot(user.id):
        return f"{seat.alternate.name} has already voted in your place."
    return None


def _can_declare_conflict(facts: ReleaseFacts, user, subject) -> str | None:
    return _own_seat_free(facts, user)


def _can_cast(facts: ReleaseFacts, user, seat: VoteMember) -> str | None:
    reason = _voting_open(facts)
    if reason:
        return reason
    if seat.is_conflicted:
        return "A conflict of interest has been declared for this member, so no ballot can be cast."
    if user is not None and seat not in facts.seats_of(user):
        if seat.member_id == user.id and seat.alternate_id is not None:
            return f"You appointed {seat.alternate.name} as your alternate: they vote in your place."
        return PermissionDenied(NOT_ELIGIBLE)
    return None


def _can_close_vote(facts: ReleaseFacts, user, subject) -> str | None:
    if facts.vote is None or facts.vote.state != VoteState.OPEN:
        return Settled("The vote has already been closed.")
    tally = facts.tally
    if not tally.has_quorum:
        return (f"No quorum yet: {len(tally.voted_ids)} of {len(tally.eligible)} eligible members have voted; "
                f"at least {tally.quorum_needed} must vote before the vote can close with an outcome.")
    return None


def _can_decide(facts: ReleaseFacts, user, subject) -> str | None:
    if facts.vote is None or facts.vote.state != VoteState.CLOSED:
        return "Close the vote before recording the decision."
    if facts.round_decision is not None:
        return Settled("The Panel's decision for this round has already been recorded.")
    return None


def _condition_waiting_on_owner(facts: ReleaseFacts, user, condition: Condition) -> str | None:
    if condition.state == ConditionState.MET:
        return Settled(f"Condition {condition.number} has been marked met: OpsG reviews it.")
    if condition.is_settled:
        return Settled(f"Condition {condition.number} has been {ConditionState(condition.state).label.lower()}.")
    return None


def _condition_waiting_on_opsg(facts: ReleaseFacts, user, condition: Condition) -> str | None:
    if condition.state == ConditionState.OPEN:
        return (f"Condition {condition.number} is waiting for {condition.owner_role.label} to mark it met, "
                "with its evidence.")
    if condition.is_settled:
        return Settled(f"Condition {condition.number} has been {ConditionState(condition.state).label.lower()}.")
    return None


def _condition_unsettled(facts: ReleaseFacts, user, condition: Condition) -> str | None:
    if condition.is_settled:
        return Settled(f"Condition {condition.number} has been {ConditionState(condition.state).label.lower()}.")
    return None


def conditions_blocking(facts: ReleaseFacts) -> str | None:
    """Why go-live cannot go ahead yet because of OpsG's conditions, naming each one that remains."""
    remaining = facts.unsettled_conditions()
    if not remaining:
        return None
    listed = "; ".join(f"condition {c.number} ({c.owner_role.label}: {c.text}) is "
                       f"{'met, waiting for OpsG to accept it' if c.state == ConditionState.MET else 'open'}"
                       for c in remaining)
    return ("Go-live waits until OpsG accepts every condition of its recommendation or the Panel waives it: "
            f"{listed}.")


def _not_confirmed(kind: ConfirmationKind) -> Guard:
    def guard(facts: ReleaseFacts, user, subject) -> str | None:
        done = facts.confirmations
        if kind in done:
            return Settled(f"This has already been confirmed by {done[kind].confirmed_by.name}.")
        blocked = conditions_blocking(facts)
        if blocked:
            return blocked
        if kind != ConfirmationKind.READINESS and ConfirmationKind.READINESS not in done:
            return "SECAS must first confirm it is ready to implement on the agreed date."
        return None
    return guard


def _notice_draft(facts: ReleaseFacts, user, subject) -> str | None:
    notice = facts.notice
    if notice is None:
        return Settled("This release has no go-live notice.")
    if notice.is_published:
        return Settled("The go-live notice has been published: a published notice cannot change.")
    return None


# --- What the process waits on (My tasks, who acts next) -------------------------------------------------

def _missing_evidence(facts: ReleaseFacts, user, criterion: Criterion) -> bool:
    return facts.stage == Stage.EVIDENCE and facts.is_open(criterion) and criterion.id not in facts.with_evidence


def _answered(facts: ReleaseFacts, user, request: EvidenceRequest) -> bool:
    return request.state == RequestState.ANSWERED


def _no_recommendation(facts: ReleaseFacts, user, subject) -> bool:
    return facts.recommendation is None


def _no_ballot(facts: ReleaseFacts, user, seat: VoteMember) -> bool:
    return not facts.has_ballot(seat.member_id)


def _deferred(facts: ReleaseFacts, user, subject) -> bool:
    return facts.stage == Stage.DEFERRED


def _scope_entry_movable(facts: ReleaseFacts, user, entry: ScopeEntry) -> str | None:
    if entry.status not in (ScopeStatus.APPROVED, ScopeStatus.TARGETED):
        return Settled(f"{entry.mp.reference} is {ScopeStatus(entry.status).value} in this release: only an approved "
                       "or targeted modification can move.")
    return None


# --- The table --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    name: str
    label: str  # "{n}" is the criterion's number
    roles: frozenset[Role]
    stages: frozenset[Stage]
    guard: Guard = _always
    moves_to: tuple[Stage, ...] = ()
    chair_only: bool = False
    owner_only: bool = False  # only the role that owns the criterion
    on: str = "release"  # what the action acts on: release, criterion, file, request, seat or condition
    waits: Waits = _never  # the process waits on it: it is a task of whoever may take it
    page: str = "releases.show"  # the endpoint of the page where it is taken
    post: str = ""  # for a one-click action, the endpoint its button posts to
    who: Callable[[ReleaseFacts], str] | None = None  # who acts, where it is not simply the roles (who_acts_next)

    @property
    def is_step(self) -> bool:
        """The process can wait on it (it is someone's task when available), as opposed to an optional action."""
        return self.waits is not _never


def _roles(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


OWNERS = _roles(Role.DCC, Role.SECAS)
CRITERION_PAGE = "criteria.show"
CONDITIONS_PAGE = "decisions.conditions"
# A recommendation's conditions are worked on from its recording until go-live.
CONDITION_STAGES = frozenset({Stage.OPSG_REVIEW, Stage.PANEL_VOTE, Stage.APPROVED})

ACTIONS: tuple[Action, ...] = (
    # The RID
    Action("baseline", "Baseline the RID", _roles(Role.PANEL), frozenset({Stage.DRAFT}), _rid_complete,
           (Stage.EVIDENCE,), chair_only=True, waits=_yes, page="releases.baseline"),
    Action("edit_rid", "Edit the RID", _roles(Role.SECAS), ALL_STAGES - {Stage.LIVE}),
    Action("move_modification", "Move to another release", _roles(Role.SECAS), ALL_STAGES - {Stage.LIVE},
           _scope_entry_movable, on="scope", page="lifecycle.move_modification"),
    # Evidence (the criterion's owner)
    Action("upload_evidence", "Add evidence for criterion {n}", OWNERS, GATHERING, _criterion_open,
           owner_only=True, on="criterion", waits=_missing_evidence, page=CRITERION_PAGE),
    Action("write_statement", "Write the statement for criterion {n}", OWNERS, GATHERING, _criterion_open,
           owner_only=True, on="criterion", page=CRITERION_PAGE),
    Action("replace_evidence", "Replace", OWNERS, GATHERING, _file_changeable, owner_only=True, on="file",
           page=CRITERION_PAGE),
    Action("withdraw_evidence", "Withdraw", OWNERS, GATHERING, _file_changeable, owner_only=True, on="file",
           page=CRITERION_PAGE),
    Action("submit_evidence", "Submit your evidence", OWNERS, frozenset({Stage.EVIDENCE}), _can_submit,
           (Stage.OPSG_REVIEW,), waits=_yes, page="evidence.check",
           who=lambda facts: " and ".join(role.label for role in _ready_to_submit(facts))),
    Action("answer_request", "Answer OpsG's evidence request on criterion {n}", OWNERS, GATHERING,
           _request_waiting, owner_only=True, on="request", waits=_yes, page=CRITERION_PAGE),
    # OpsG review
    Action("assess_preliminary", "Record a preliminary status for criterion {n}", _roles(Role.OPSG), GATHERING,
           _can_assess_preliminary, on="criterion", page=CRITERION_PAGE),
    Action("assess_final", "Assess criterion {n}", _roles(Role.OPSG), frozenset({Stage.OPSG_REVIEW}),
           _can_assess_final, on="criterion", waits=_yes, page=CRITERION_PAGE),
    Action("revise_final", "Revise the final assessment of criterion {n}", _roles(Role.OPSG),
           frozenset({Stage.OPSG_REVIEW}), _can_revise_final, on="criterion", page=CRITERION_PAGE),
    Action("request_evidence", "Ask for more evidence on criterion {n}", _roles(Role.OPSG), GATHERING,
           _can_request, on="criterion", page=CRITERION_PAGE),
    Action("close_request", "Review the answer on criterion {n}", _roles(Role.OPSG), GATHERING,
           _request_unclosed, on="request", waits=_answered, page=CRITERION_PAGE),
    Action("ask_again", "Ask again on criterion {n}", _roles(Role.OPSG), GATHERING, _request_answered,
           on="request", page=CRITERION_PAGE),
    Action("reopen_criteria", "Choose criteria to reopen", _roles(Role.OPSG),
           frozenset({Stage.DEFERRED, Stage.EVIDENCE}), _can_reopen, waits=_deferred,
           page="decisions.reassessment"),
    Action("record_recommendation", "Record the OpsG recommendation", _roles(Role.OPSG),
           frozenset({Stage.OPSG_REVIEW}), _all_finally_assessed, chair_only=True, waits=_no_recommendation,
           page="decisions.recommendation"),
    # The Panel
    Action("open_vote", "Open the Panel vote", _roles(Role.PANEL), frozenset({Stage.OPSG_REVIEW}), _can_open_vote,
           (Stage.PANEL_VOTE,), chair_only=True, waits=_yes, page="decisions.vote"),
    Action("appoint_alternate", "Appoint an alternate", _roles(Role.PANEL), frozenset({Stage.PANEL_VOTE}),
           _can_appoint, page="decisions.vote"),
    Action("revoke_alternate", "Revoke your alternate", _roles(Role.PANEL), frozenset({Stage.PANEL_VOTE}),
           _can_revoke, page="decisions.vote"),
    Action("declare_conflict", "Declare a conflict of interest", _roles(Role.PANEL), frozenset({Stage.PANEL_VOTE}),
           _can_declare_conflict, page="decisions.vote"),
    Action("cast_ballot", "Vote go/no-go", _roles(Role.PANEL), frozenset({Stage.PANEL_VOTE}), _can_cast,
           on="seat", waits=_no_ballot, page="decisions.vote"),
    Action("close_vote", "Close the vote", _roles(Role.PANEL), frozenset({Stage.PANEL_VOTE}), _can_close_vote,
           chair_only=True, waits=_yes, page="decisions.vote"),
    Action("record_decision", "Record the Panel's decision", _roles(Role.PANEL), frozenset({Stage.PANEL_VOTE}),
           _can_decide, (Stage.APPROVED, Stage.DEFERRED), chair_only=True, waits=_yes, page="decisions.vote"),
    # OpsG's conditions (implement subject to conditions): the owner meets, OpsG accepts, the Panel chair may waive
    Action("mark_condition_met", "Mark condition {n} as met", OWNERS, CONDITION_STAGES, _condition_waiting_on_owner,
           owner_only=True, on="condition", waits=_yes, page=CONDITIONS_PAGE),
    Action("accept_condition", "Accept condition {n} as met", _roles(Role.OPSG), CONDITION_STAGES,
           _condition_waiting_on_opsg, on="condition", waits=_yes, page=CONDITIONS_PAGE),
    Action("waive_condition", "Waive condition {n}", _roles(Role.PANEL), frozenset({Stage.PANEL_VOTE, Stage.APPROVED}),
           _condition_unsettled, chair_only=True, on="condition", page=CONDITIONS_PAGE),
    # Go-live
    Action("confirm_readiness", "Confirm: SECAS ready to implement on the agreed date", _roles(Role.SECAS),
           frozenset({Stage.APPROVED}), _not_confirmed(ConfirmationKind.READINESS), waits=_yes,
           page="decisions.go_live"),
    Action("confirm_sec_implemented", "Confirm: SEC changes implemented (new SEC version)", _roles(Role.SECAS),
           frozenset({Stage.APPROVED}), _not_confirmed(ConfirmationKind.SEC_IMPLEMENTED), (Stage.LIVE,),
           waits=_yes, page="decisions.go_live"),
    Action("confirm_deployment", "Confirm: DCC deployment confirmed", _roles(Role.DCC), frozenset({Stage.APPROVED}),
           _not_confirmed(ConfirmationKind.DEPLOYMENT), (Stage.LIVE,), waits=_yes, page="decisions.go_live"),
    # The go-live notice, drafted when the release goes Live
    Action("edit_notice", "Edit the go-live notice", _roles(Role.SECAS), frozenset({Stage.LIVE}), _notice_draft,
           page="notices.manage"),
    Action("publish_notice", "Publish the go-live notice", _roles(Role.SECAS), frozenset({Stage.LIVE}),
           _notice_draft, waits=_yes, page="notices.manage"),
    # No-go
    Action("replan", "Re-plan the deferred release: set a new go-live date", _roles(Role.SECAS),
           frozenset({Stage.DEFERRED}), moves_to=(Stage.EVIDENCE, Stage.OPSG_REVIEW), waits=_yes,
           page="decisions.replan"),
)
BY_NAME = {action.name: action for action in ACTIONS}


# --- Portal-wide actions: not about an existing release (creating one), so only the role decides ---------

@dataclass(frozen=True)
class PortalAction:
    name: str
    label: str
    roles: frozenset[Role]
    page: str  # the endpoint of the page where it is taken


PORTAL_ACTIONS: tuple[PortalAction, ...] = (
    PortalAction("create_release", "Create a release", _roles(Role.SECAS), page="lifecycle.new_release"),
    # A new release, or a new RID version of a draft (that part is also `edit_rid`'s), read from a RID document.
    PortalAction("import_rid", "Import a RID document", _roles(Role.SECAS), page="rid_import.upload"),
)
PORTAL_BY_NAME = {action.name: action for action in PORTAL_ACTIONS}


def portal_refusal(name: str, user) -> PermissionDenied | None:
    action = PORTAL_BY_NAME[name]
    if user.role not in action.roles:
        return PermissionDenied(f"Only {_who(action)} can do this.")
    return None


def require_portal(name: str, user) -> None:
    """Raise the refusal, if any: the portal-wide counterpart of `require`."""
    refused = portal_refusal(name, user)
    if refused is not None:
        raise refused


def portal_offers(user) -> list[PortalAction]:
    """The portal-wide actions `user` may take (the release list's buttons)."""
    user = _person(user)
    return [action for action in PORTAL_ACTIONS if portal_refusal(action.name, user) is None]
CONFIRMATION_ACTIONS = {ConfirmationKind.READINESS: "confirm_readiness",
                        ConfirmationKind.SEC_IMPLEMENTED: "confirm_sec_implemented",
                        ConfirmationKind.DEPLOYMENT: "confirm_deployment"}


# --- Reading the table ------------------------------------------------------------------------------------

def facts_of(release_or_facts: Release | ReleaseFacts) -> ReleaseFacts:
    if isinstance(release_or_facts, ReleaseFacts):
        return release_or_facts
    return ReleaseFacts(release_or_facts)


def _person(user):
    """The user behind `current_user`: the listings below read it thousands of times, each through the proxy."""
    return user._get_current_object() if hasattr(user, "_get_current_object") else user


def _criterion_of(subject) -> Criterion | None:
    if isinstance(subject, Criterion):
        return subject
    return getattr(subject, "criterion", None)


def _number_of(subject) -> int | str:
    """The number an action's label shows: the criterion's, or the condition's."""
    if isinstance(subject, Condition):
        return subject.number
    criterion = _criterion_of(subject)
    return criterion.number if criterion is not None else ""


def _owner_refusal(subject, user) -> PermissionDenied | None:
    if isinstance(subject, Condition):
        if subject.owner_role != user.role:
            return PermissionDenied(f"Condition {subject.number} belongs to {subject.owner_role.label}: only "
                                    f"{subject.owner_role.label} can mark it met.")
        return None
    criterion = _criterion_of(subject)
    if criterion is not None and criterion.owner_role != user.role:
        return PermissionDenied(f"Criterion {criterion.number} belongs to {criterion.owner_role.label}: only "
                                f"{criterion.owner_role.label} can change its evidence.")
    return None


def _withdrawn(subject) -> Settled | None:
    """A withdrawn criterion needs nothing more: no action on it (or on its files and requests) is offered."""
    criterion = _criterion_of(subject)
    if criterion is not None and criterion.withdrawn_at is not None:
        return Settled(f"Criterion {criterion.number} was withdrawn from the RID, so it needs nothing more.")
    return None


def _who(action: Action | PortalAction) -> str:
    names = " or ".join(role.label for role in sorted(action.roles, key=list(Role).index))
    return f"{names} chair" if getattr(action, "chair_only", False) else names


def refusal(name: str, facts: ReleaseFacts, user, subject=None) -> PermissionDenied | Conflict | None:
    """Why `user` may not take action `name` now (403 for the role, chair or owner; 409 for the stage or the
    guard), or None when they may."""
    action = BY_NAME[name]
    if user.role not in action.roles or (action.chair_only and not user.is_chair):
        return PermissionDenied(f"Only {'the ' if action.chair_only else ''}{_who(action)} can do this.")
    owner_refused = _owner_refusal(subject, user) if action.owner_only else None
    if owner_refused is not None:
        return owner_refused
    if facts.stage not in action.stages:
        return Conflict(_out_of_stage(action, facts, subject))
    reason = _withdrawn(subject) or action.guard(facts, user, subject)
    if isinstance(reason, PermissionDenied) or reason is None:
        return reason
    return Conflict(reason)  # its message stays the guard's own string, Settled or not


def _out_of_stage(action: Action, facts: ReleaseFacts, subject) -> str:
    during = " or ".join(stage.label for stage in Stage if stage in action.stages)
    return f"{_label_of(action, subject)} is possible only during {during}: the release is at '{facts.stage.label}'."


def why_closed(name: str, facts: ReleaseFacts, subject=None) -> str | None:
    """Why nobody can take action `name` now, whoever asks (its stage, then its guard): what a page tells every
    reader, such as why a criterion's evidence is locked."""
    action = BY_NAME[name]
    if facts.stage not in action.stages:
        return _out_of_stage(action, facts, subject)
    reason = _withdrawn(subject) or action.guard(facts, None, subject)
    return None if isinstance(reason, PermissionDenied) else reason


def require(name: str, release_or_facts: Release | ReleaseFacts, user, subject=None) -> ReleaseFacts:
    """Raise the refusal, if any: every service that changes state begins here. Returns the facts it read."""
    facts = facts_of(release_or_facts)
    refused = refusal(name, facts, user, subject)
    if refused is not None:
        raise refused
    return facts


def may(name: str, facts: ReleaseFacts, user, subject=None) -> bool:
    return refusal(name, facts, user, subject) is None


@dataclass(frozen=True)
class Offer:
    """An action as a page offers it: a button when `reason` is None, else the sentence that says why not yet."""

    action: Action
    subject: Any
    label: str
    release_code: str
    reason: str | None = None
    waits: bool = False

    @property
    def name(self) -> str:
        return self.action.name

    @property
    def url(self) -> str:
        """The page where it is taken (built when asked: most offers are read only for their reason)."""
        criterion = _criterion_of(self.subject)
        if criterion is not None and self.action.page == CRITERION_PAGE:
            return portal_path(self.action.page, code=self.release_code, number=criterion.number)
        return portal_path(self.action.page, code=self.release_code)

    @property
    def post_url(self) -> str:
        return portal_path(self.action.post, code=self.release_code) if self.action.post else ""


def _label_of(action: Action, subject) -> str:
    return action.label.format(n=_number_of(subject))


def offer(name: str, facts: ReleaseFacts, user, subject=None, *, with_waits: bool = False) -> Offer | None:
    """The action as `user` sees it: None if it is not theirs or not in this stage; with a reason if blocked.
    `with_waits` also asks whether the process waits on it (My tasks, the next step box)."""
    action = BY_NAME[name]
    if facts.stage not in action.stages:
        return None
    refused = refusal(name, facts, user, subject)
    if isinstance(refused, PermissionDenied) or isinstance(getattr(refused, "message", None), Settled):
        return None
    waits = with_waits and refused is None and action.waits(facts, user, subject)
    return Offer(action, subject, _label_of(action, subject), facts.release.code,
                 refused.message if refused else None, waits)


class Offers(dict):
    """The offers on one subject by action name, as templates read them."""

    def can(self, name: str) -> bool:
        return name in self and self[name].reason is None

    def why_not(self, name: str) -> str | None:
        return self[name].reason if name in self else None


def offers(facts: ReleaseFacts, user, subject=None) -> Offers:
    """The offers on one subject (the release when None, or a criterion, file, request or seat), by name."""
    kind, user = _kind(subject), _person(user)
    found = (offer(action.name, facts, user, subject) for action in ACTIONS if action.on == kind)
    return Offers((o.name, o) for o in found if o is not None)


def _kind(subject) -> str:
    return {Criterion: "criterion", EvidenceFile: "file", EvidenceRequest: "request",
            VoteMember: "seat", Condition: "condition", ScopeEntry: "scope"}.get(type(subject), "release")


def _subjects(facts: ReleaseFacts, kind: str, user) -> list:
    """What the release-wide listing walks for each kind of action (files are offered on the criterion page)."""
    if kind == "release":
        return [None]
    if kind == "criterion":
        return facts.criteria
    if kind == "request":
        return list(facts.requests.values())
    if kind == "condition":
        return facts.conditions
    if kind == "seat" and facts.vote is not None:
        return facts.seats_of(user) if user is not None else [m for m in facts.vote.members if not m.is_conflicted]
    return []


def _relevant(action: Action, facts: ReleaseFacts) -> bool:
    return facts.stage in action.stages and action.on != "file"


def available_actions(facts: ReleaseFacts, user) -> list[Offer]:
    """Every action `user` could take on the release now, or is close to (with the reason it is blocked)."""
    found, user = [], _person(user)
    for action in ACTIONS:
        if not _relevant(action, facts) or user.role not in action.roles:
            continue
        for subject in _subjects(facts, action.on, user):
            made = offer(action.name, facts, user, subject, with_waits=True)
            if made is not None:
                found.append(made)
    return found


def tasks_of(facts: ReleaseFacts, user) -> list[Offer]:
    """The offers the process waits on: `user`'s tasks on this release (what `available_actions` would list with
    no reason and `waits`, without building the offers that are blocked: My tasks asks this of every release)."""
    found, user = [], _person(user)
    for action in ACTIONS:
        if not action.is_step or not _relevant(action, facts) or user.role not in action.roles:
            continue
        for subject in _subjects(facts, action.on, user):
            if refusal(action.name, facts, user, subject) is None and action.waits(facts, user, subject):
                found.append(Offer(action, subject, _label_of(action, subject), facts.release.code, None, True))
    return found


def next_steps(facts: ReleaseFacts, user) -> list[Offer]:
    """The "next step" box: `user`'s tasks, and the steps of the release that are theirs but blocked, with why."""
    return [o for o in available_actions(facts, user)
            if o.action.is_step and (o.waits or (o.reason and o.action.on == "release"))]


def _label(action: Action, numbers: list[int]) -> str:
    """The action's label for one criterion or condition, for several ("Assess criteria 3, 8"), or for none."""
    if len(numbers) > 1:
        listed = ", ".join(map(str, sorted(numbers)))
        return action.label.replace("criterion {n}", "criteria " + listed).replace("condition {n}",
                                                                                   "conditions " + listed)
    return action.label.format(n=numbers[0] if numbers else "")


def who_acts_next(facts: ReleaseFacts) -> list[tuple[str, str]]:
    """(who, what) for each step the release waits on now, whoever may take it, criteria gathered by step."""
    steps: dict[tuple[str, str], list[int]] = {}
    for action in ACTIONS:
        if not _relevant(action, facts):
            continue
        for subject in _subjects(facts, action.on, None):
            if action.guard(facts, None, subject) is None and action.waits(facts, None, subject):
                criterion = _criterion_of(subject)
                owner = subject.owner_role if isinstance(subject, Condition) else getattr(criterion, "owner_role", None)
                if action.who is not None:
                    who = action.who(facts)
                elif action.owner_only and owner is not None:
                    who = owner.label
                else:
                    who = _who(action)
                numbers = steps.setdefault((who, action.name), [])
                if _number_of(subject) != "":
                    numbers.append(_number_of(subject))
    return [(who, _label(BY_NAME[name], numbers)) for (who, name), numbers in steps.items()]


def move_stage(release: Release, name: str, target: Stage, actor) -> None:
    """Move the release on as the consequence of action `name`, exactly once: a conditional update that only one
    request wins, audited as `release.moved`."""
    action = BY_NAME[name]
    if target not in action.moves_to:
        raise ValueError(f"{name} does not move a release to {target}")
    before = release.stage
    update_once(Release, [Release.id == release.id, Release.stage == before], {"stage": target},
                "Someone else has just moved this release on. Reload the page to see where it stands.")
    db.session.refresh(release, ["stage"])
    record_event(actor, "release.moved", f"{before.label} → {target.label} ({action.label.format(n='')})",
                 obj=release, release=release, before={"stage": str(before)},
                 after={"stage": str(target), "action": name})
