"""The audit trail as people read it: each event in a sentence, its changes as "before → after" with names.

The stored event (its action code, summary and details) is what the chain signs and is never rewritten; this module
only words it for the page, and the page keeps the exact record one click away.
"""
from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any, Callable

from ..access import Role
from ..criteria.models import AssessmentKind, AssessmentStatus, RequestState
from ..decisions.models import Choice, ConfirmationKind, Outcome, RecommendationKind
from ..releases.models import MilestoneKind, ScopeStatus, Stage
from ..timeutil import UK
from ..workflow import ACTIONS

# The kinds of event, named as the filter and the tag show them (an unknown code is shown as it is).
EVENT_NAMES = {
    "auth.login": "Signed in", "auth.logout": "Signed out", "auth.login_failed": "Failed sign-in",
    "auth.password_accepted": "Password accepted", "auth.second_factor_failed": "Wrong two-factor code",
    "auth.recovery_code_used": "Recovery code used", "auth.totp_enrolled": "Two-factor sign-in set up",
    "auth.totp_disabled": "Two-factor sign-in turned off", "auth.totp_reset": "Two-factor sign-in reset",
    "auth.two_factor_policy_changed": "Two-factor policy changed",
    "user.created": "Account created", "user.updated": "Account changed", "user.password_set": "Password set",
    "user.signed_out_everywhere": "Signed out everywhere",
    "signature.wrong_password": "Wrong password at signing",
    "release.created": "Release created", "release.imported": "Release imported", "release.moved": "Stage changed",
    "release.replanned": "Release re-planned", "rid.imported": "RID imported from a document",
    "rid.version_issued": "RID version issued", "rid.scope_changed": "Scope changed",
    "scope.moved_out": "Modification moved out", "scope.moved_in": "Modification moved in",
    "rid.criterion_added": "Criterion added", "rid.milestone_added": "Milestone added",
    # SECAS writing the RID (portal/releases/authoring.py)
    "rid.scope_added": "Scope entry added", "rid.scope_removed": "Scope entry removed",
    "rid.scope_moved": "Scope reordered", "rid.change_request_added": "Change Request added",
    "rid.change_request_changed": "Change Request changed", "rid.change_request_removed": "Change Request removed",
    "rid.change_request_moved": "Change Requests reordered", "rid.glossary_added": "Glossary entry added",
    "rid.glossary_changed": "Glossary entry changed", "rid.glossary_removed": "Glossary entry removed",
    "rid.other_code_added": "Other Code impact added", "rid.other_code_changed": "Other Code impact changed",
    "rid.other_code_removed": "Other Code impact removed", "rid.impact_summary_added": "Impact summary added",
    "rid.impact_summary_removed": "Impact summary removed", "rid.participant_group_added": "Participant group added",
    "rid.sec_document_added": "SEC document added", "rid.test_phase_changed": "Test phase changed",
    "rid.cost_added": "Cost added", "rid.cost_removed": "Cost removed", "rid.criterion_removed": "Criterion removed",
    "rid.criterion_withdrawn": "Criterion withdrawn",
    "rid.milestone_removed": "Milestone removed", "rid.narrative_changed": "RID text changed",
    "rid.glossary_moved": "Glossary reordered", "rid.other_code_moved": "Other Code impacts reordered",
    "rid.impact_summary_moved": "Impact summaries reordered", "rid.test_phase_moved": "Test phases reordered",
    "rid.cost_moved": "Costs reordered", "rid.participant_group_changed": "Participant group changed",
    "rid.participant_group_removed": "Participant group removed",
    "rid.participant_group_moved": "Participant groups reordered",
    "rid.sec_document_changed": "SEC document changed", "rid.sec_document_removed": "SEC document removed",
    "rid.sec_document_moved": "SEC documents reordered", "rid.test_phase_added": "Test phase added",
    "rid.test_phase_removed": "Test phase removed",
    "evidence.upload": "Evidence uploaded", "evidence.replace": "Evidence replaced",
    "evidence.withdraw": "Evidence withdrawn", "evidence.statement": "Statement written",
    "evidence.submit": "Evidence submitted",
    "evidence_request.open": "Evidence requested", "evidence_request.answer": "Request answered",
    "evidence_request.close": "Request closed", "evidence_request.ask_again": "Asked again",
    "assessment.preliminary": "Preliminary assessment", "assessment.final": "Final assessment",
    "assessment.revised": "Final assessment revised", "criterion.reopened": "Criterion reopened",
    "recommendation.recorded": "OpsG recommendation",
    "vote.opened": "Vote opened", "vote.ballot_cast": "Ballot cast", "vote.ballot_changed": "Ballot changed",
    "vote.alternate_appointed": "Alternate appointed", "vote.alternate_revoked": "Alternate revoked",
    "vote.conflict_declared": "Conflict declared", "vote.closed": "Vote closed",
    "decision.recorded": "Panel decision", "golive.confirmed": "Go-live confirmation",
    "notifications.read": "Notifications read", "notifications.preferences_changed": "Notification settings",
    "reminder.sent": "Reminder sent", "calendar.link_created": "Calendar link made",
    "calendar.link_revoked": "Calendar link revoked",
    "rid.baselined": "RID baselined", "condition.met": "Condition met", "condition.accepted": "Condition accepted",
    "condition.waived": "Condition waived", "reminder.vote_closing": "Vote reminder",
    "user.invitation_sent": "Invitation sent", "user.invitation_resent": "Invitation resent",
    "user.invitation_revoked": "Invitation revoked", "user.invitation_accepted": "Invitation accepted",
    "rid.document_stored": "Baselined RID stored",
    "notice.drafted": "Go-live notice drafted", "notice.edited": "Go-live notice edited",
    "notice.published": "Go-live notice published",
}


def event_name(action: str) -> str:
    return EVENT_NAMES.get(action) or action


# --- Field names and values ---------------------------------------------------------------------------------

FIELD_NAMES = {
    "planned_go_live": "Planned go-live", "sec_version": "SEC version", "owner_role": "Owner", "to": "Sent to",
    "due_on": "Due", "closes_at": "Vote closes", "alternate_id": "Alternate", "member_id": "Member",
    "eligible": "Eligible members", "file_id": "File", "signature_id": "Signature", "assessment_id": "Assessment",
    "request_id": "Request", "moved_to_id": "Moved to release", "sha256": "SHA-256", "rid_version": "RID version",
    "milestones_moved": "Milestones moved", "reopened": "Criteria reopened", "revision_reason": "Reason for revising",
    "replaced_earlier_link": "Replaced an earlier link", "is_admin": "Administrator", "is_chair": "Chair",
    "alternate_only": "Panel alternate only",
    "stored_as": "Stored as", "action": "Step", "source_chain_head": "Source chain head", "exported_at": "Exported",
}
# Which values a field holds: its code is shown by its label.
FIELD_ENUMS: dict[str, tuple[type[StrEnum], ...]] = {
    "status": (AssessmentStatus, ScopeStatus), "kind": (AssessmentKind, RecommendationKind, MilestoneKind),
    "stage": (Stage,), "role": (Role,), "owner_role": (Role,), "to": (Role,), "recommendation": (RecommendationKind,),
    "outcome": (Outcome,), "state": (RequestState,), "confirmation": (ConfirmationKind,), "choice": (Choice,),
}
STEP_LABELS = {a.name: a.label.replace(" {n}", "").replace("{n}", "") for a in ACTIONS}  # release.moved's step
PEOPLE = {"alternate_id", "member_id", "eligible"}  # fields that hold user ids
NONE = "none"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def field_name(key: str) -> str:
    return FIELD_NAMES.get(key) or key.replace("_", " ").capitalize()


def _label(key: str, value: str) -> str | None:
    for enum in FIELD_ENUMS.get(key, ()):
        if value in enum._value2member_map_:
            return enum(value).label
    return None


def _size(n: int) -> str:
    return f"{n:,} bytes" if n < 1024 else f"{n / 1024:,.1f} KB" if n < 1024 * 1024 else f"{n / 1048576:,.1f} MB"


def field_value(key: str, value: Any, names: dict[int, str]) -> str:
    """One stored value as a person reads it: labels for codes, names for people, UK dates, no Python syntax."""
    if value is None or value == "" or value == [] or value == {}:
        return NONE
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if key in PEOPLE:
        ids = value if isinstance(value, list) else [value]
        return ", ".join(names.get(i, f"user {i}") for i in ids)
    if isinstance(value, list):
        return ", ".join(field_value(key, v, names) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{_label('choice', str(k)) or _label('outcome', str(k)) or field_name(str(k))} "
                         f"{field_value(str(k), v, names)}" for k, v in value.items())
    if key == "action" and isinstance(value, str) and value in STEP_LABELS:
        return STEP_LABELS[value]
    if key == "size" and isinstance(value, int):
        return _size(value)
    if isinstance(value, str):
        label = _label(key, value)
        if label:
            return label
        if ISO_DATE.match(value):
            return dt.date.fromisoformat(value).strftime("%-d %b %Y")
        if ISO_TIME.match(value):
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                return value
            moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
            return moment.astimezone(UK).strftime("%-d %b %Y %H:%M")
    return str(value)


def people_in(details: dict) -> set[int]:
    """The user ids an event's details name (to look up their names, for a page of events at once)."""
    found: set[int] = set()
    for part in (details, details.get("before") or {}, details.get("after") or {}):
        for key in PEOPLE & set(part):
            value = part[key]
            found.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int))
    return found


# --- The sentence -------------------------------------------------------------------------------------------

def _after(event) -> dict:
    return (event.details or {}).get("after") or {}


def _before(event) -> dict:
    return (event.details or {}).get("before") or {}


def _criterion(event) -> str:
    found = re.search(r"criterion (\d+)", event.summary, re.I)
    return f"criterion {found.group(1)}" if found else "a criterion"


def _condition(event) -> str:
    found = re.search(r"condition (\d+)", event.summary, re.I)
    return f"condition {found.group(1)}" if found else "a condition"


def _with_file(event) -> str:
    name = _after(event).get("file")
    return f", with the file {name}" if name else ""


def _status(event) -> str:
    return _label("status", str(_after(event).get("status", ""))) or "?"


def _tail(event, sep: str = ": ") -> str:
    """The summary after its first `sep` (where the stored summary names what was recorded)."""
    return event.summary.split(sep, 1)[1] if sep in event.summary else event.summary


def _counts(event, names) -> str:
    counts = _after(event).get("counts")
    return f" ({field_value('counts', counts, names)})" if counts else ""


def _for(event) -> str:
    """' for Ada Member' when the summary says so (an alternate voting instead of a member)."""
    found = re.search(r" for (.+)$", event.summary)
    return f" for {found.group(1)}, as their alternate" if found else ""


Phrase = Callable[[Any, dict], str]
PHRASES: dict[str, Phrase] = {
    "assessment.final": lambda e, n: f"assessed {_criterion(e)} as {_status(e)} (final assessment, signed)",
    "assessment.preliminary": lambda e, n: f"recorded a preliminary status for {_criterion(e)}: {_status(e)}",
    "assessment.revised": lambda e, n: (
        f"revised the final assessment of {_criterion(e)} from "
        f"{_label('status', str(_before(e).get('status', ''))) or '?'} to {_status(e)}"),
    "recommendation.recorded": lambda e, n: f"recorded the OpsG recommendation: {_tail(e)}",
    "decision.recorded": lambda e, n: f"recorded the Panel's decision: {_tail(e)}",
    "vote.opened": lambda e, n: (f"opened the Panel vote for {len(_after(e).get('eligible') or [])} eligible "
                                 f"members"),
    "vote.closed": lambda e, n: f"closed the Panel vote: {_tail(e)}{_counts(e, n)}",
    "golive.confirmed": lambda e, n: f"confirmed for go-live: {_tail(e)}",
    "release.moved": lambda e, n: (f"moved the release from {field_value('stage', _before(e).get('stage'), n)} "
                                   f"to {field_value('stage', _after(e).get('stage'), n)}"),
    "release.replanned": lambda e, n: f"re-planned the release: {e.summary[0].lower()}{e.summary[1:]}",
    "rid.version_issued": lambda e, n: f"issued {e.summary.replace(' issued', '', 1)}",
    "criterion.reopened": lambda e, n: f"reopened {_criterion(e)}: {_tail(e)}",
    "evidence.submit": lambda e, n: "submitted their evidence for OpsG's review",
    "vote.ballot_cast": lambda e, n: "cast a ballot" + _for(e),
    "vote.ballot_changed": lambda e, n: "changed a ballot" + _for(e),
    "reminder.sent": lambda e, n: f"sent a reminder: {e.summary}",
    "reminder.vote_closing": lambda e, n: f"{e.summary[0].lower()}{e.summary[1:]}",
    "rid.baselined": lambda e, n: "baselined the RID" + e.summary.split("RID baselined", 1)[-1],
    "condition.met": lambda e, n: f"marked {_condition(e)} as met" + _with_file(e),
    "condition.accepted": lambda e, n: f"accepted {_condition(e)} as met",
    "condition.waived": lambda e, n: f"waived {_condition(e)}: {_after(e).get('reason') or 'no reason given'}",
    "notice.drafted": lambda e, n: (f"completed go-live: the portal drafted the go-live notice "
                                    f"“{_after(e).get('title', '')}”"),
    "notice.edited": lambda e, n: f"edited the draft go-live notice ({', '.join(_after(e))})",
    "notice.published": lambda e, n: f"published the go-live notice, “{_after(e).get('title', '')}”",
}
# "Participant group Suppliers changed", maybe with "; new RID version in ..." (a change to every RID's shared axes).
SUFFIXED = re.compile(r"^(?P<what>.+) (?P<verb>changed|added|removed)(?P<versions>; new RID version in .+)?$")
PAST = re.compile(r"^(?:[A-Z][a-z]+ed|Wrote|Made|Sent|Cast|Set|Took|Gave|Withdrew|Undid)\b")


def sentence(event, role_label: str, names: dict[int, str]) -> str:
    """'Owen Green (OpsG) assessed criterion 4 as Not met (final assessment, signed).'"""
    who = event.actor_name if event.actor_id is not None or event.actor_name != "System" else "The portal"
    if role_label:
        who = f"{who} ({role_label})"
    summary = event.summary.rstrip(".")
    if event.actor_name and summary.startswith(event.actor_name + " "):
        text = who + summary[len(event.actor_name):]
    elif event.action in PHRASES:
        text = f"{who} {PHRASES[event.action](event, names)}"
    elif found := SUFFIXED.match(summary):
        text = f"{who} {found['verb']} {found['what']}{found['versions'] or ''}"
    elif PAST.match(summary):
        text = f"{who} {summary[0].lower()}{summary[1:]}"
    else:
        text = f"{who}: {summary}"
    return text if text.endswith((".", "?", "!")) else text + "."
