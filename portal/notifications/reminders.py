"""Reminders of milestones due soon and of overdue steps, to the milestone's acting role, each once; and to each
Panel member who has not voted, before the vote closes, once per member per vote."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from ..audit.services import record_event
from ..decisions.models import Ballot, Vote, VoteMember, VoteState
from ..extensions import db
from ..releases.models import Milestone, MilestoneKind, Release, Stage
from ..timeutil import due_phrase, today, uk_date, utcnow, working_days_between
from . import messages
from .models import Reminder, VoteReminder
from .services import notify, portal_path

_BEFORE_BASELINE = {Stage.DRAFT}
# A milestone's step is still to be done while the release is in one of these stages.
PENDING_STAGES = {
    MilestoneKind.BASELINE: _BEFORE_BASELINE,
    MilestoneKind.EVIDENCE: _BEFORE_BASELINE | {Stage.EVIDENCE},
    MilestoneKind.OPSG_REVIEW: _BEFORE_BASELINE | {Stage.EVIDENCE, Stage.OPSG_REVIEW},
    MilestoneKind.PANEL_DECISION: _BEFORE_BASELINE | {Stage.EVIDENCE, Stage.OPSG_REVIEW, Stage.PANEL_VOTE},
    MilestoneKind.GO_LIVE: _BEFORE_BASELINE | {Stage.EVIDENCE, Stage.OPSG_REVIEW, Stage.PANEL_VOTE, Stage.APPROVED},
    MilestoneKind.OTHER: set(Stage) - {Stage.LIVE},
}
DUE_SOON, OVERDUE = "due_soon", "overdue"
# The page where a milestone's step is taken (the reminder links straight to it).
ACTION_PAGES = {MilestoneKind.EVIDENCE: "criteria.index", MilestoneKind.OPSG_REVIEW: "criteria.index",
                MilestoneKind.PANEL_DECISION: "decisions.vote", MilestoneKind.GO_LIVE: "decisions.go_live"}


def is_pending(milestone: Milestone, release: Release) -> bool:
    return release.stage in PENDING_STAGES[milestone.kind]


def send_reminders(actor, on: dt.date | None = None) -> list[str]:
    """Remind of each pending milestone due within REMINDER_WORKING_DAYS, and of each overdue one, once."""
    on = on or today()
    window = current_app.config.get("REMINDER_WORKING_DAYS", 3)
    rows = db.session.execute(
        sa.select(Milestone, Release).join(Release, Release.id == Milestone.release_id)
        .where(Release.stage.not_in([Stage.LIVE, Stage.DEFERRED]))
        .order_by(Milestone.due_on, Milestone.id)).all()
    sent = []
    for milestone, release in rows:
        if not is_pending(milestone, release):
            continue
        days = working_days_between(on, milestone.due_on)
        if milestone.due_on < on and milestone.kind != MilestoneKind.OTHER:
            kind = OVERDUE
        elif milestone.due_on >= on and days <= window:
            kind = DUE_SOON
        else:
            continue
        if _send_reminder(actor, milestone, release, kind, on):
            sent.append(f"{release.name}: {milestone.event} ({kind.replace('_', ' ')})")
    return sent


def _send_reminder(actor, milestone: Milestone, release: Release, kind: str, on: dt.date) -> bool:
    """Record the reminder (the unique constraint makes it once only), then notify the acting role."""
    try:
        with db.session.begin_nested():
            db.session.add(Reminder(milestone_id=milestone.id, kind=kind))
            db.session.flush()
    except sa.exc.IntegrityError:
        return False  # already sent, by an earlier run or a concurrent one
    phrase = due_phrase(milestone.due_on, on)
    subject = f"{release.name}: {milestone.event} – {phrase}"
    body = f"{milestone.event} is {phrase} (due {uk_date(milestone.due_on)})."
    if milestone.notes:
        body += f"\n\n{milestone.notes}"
    notify("submission_due" if milestone.kind == MilestoneKind.EVIDENCE else "reminder", [milestone.acting_role],
           subject, body, url=portal_path(ACTION_PAGES.get(milestone.kind, "releases.show"), code=release.code),
           release=release)
    record_event(actor, "reminder.sent", subject, obj=milestone, release=release,
                 after={"reminder": kind, "due_on": milestone.due_on.isoformat(), "to": str(milestone.acting_role)})
    return True


def send_vote_reminders(actor, now: dt.datetime | None = None) -> list[str]:
    """Remind each eligible member without a ballot (or their alternate) of an open vote closing within
    VOTE_REMINDER_HOURS; the vote_reminder table's unique constraint sends it once per member per vote."""
    now = now or utcnow()
    horizon = now + dt.timedelta(hours=current_app.config.get("VOTE_REMINDER_HOURS", 24))
    votes = db.session.scalars(sa.select(Vote).where(
        Vote.state == VoteState.OPEN, Vote.closes_at.is_not(None), Vote.closes_at > now, Vote.closes_at <= horizon)
        .order_by(Vote.id)).all()
    sent = []
    for vote in votes:
        release = db.session.get(Release, vote.release_id)
        voted = set(db.session.scalars(sa.select(Ballot.member_id).where(Ballot.vote_id == vote.id,
                                                                         Ballot.is_current)))
        for seat in db.session.scalars(sa.select(VoteMember).where(VoteMember.vote_id == vote.id)
                                       .order_by(VoteMember.id)):
            if seat.member_id in voted or seat.is_conflicted:
                continue
            try:
                with db.session.begin_nested():
                    db.session.add(VoteReminder(vote_id=vote.id, member_id=seat.member_id))
                    db.session.flush()
            except sa.exc.IntegrityError:
                continue  # already reminded, by an earlier run or a concurrent one
            voter = seat.alternate or seat.member
            messages.vote_closing(release, vote, voter)
            record_event(actor, "reminder.vote_closing", f"Reminded {voter.name} to vote before the close",
                         obj=vote, release=release, after={"member_id": seat.member_id, "to": voter.id})
            sent.append(f"{release.name}: vote closing ({voter.name})")
    return sent
