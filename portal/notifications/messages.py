"""The messages that give someone a task: who is told, what to do, by when (in Working Days) and a link straight to
the page where they do it. The workflow services call these in their own transaction."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..access import Role
from ..extensions import db
from ..releases.models import Milestone, MilestoneKind, Release
from ..timeutil import due_phrase, today, uk_date, uk_time
from .services import notify, portal_path


def short_date(day: dt.date) -> str:
    return f"{day:%-d %b %Y}"


def deadline_line(verb: str, due: dt.date | None, on: dt.date | None = None) -> str:
    """'Answer by 14 Jan 2021, in 3 Working Days.' ('' without a deadline)."""
    if due is None:
        return ""
    phrase = due_phrase(due, on or today())
    when = phrase.removeprefix("due ") if phrase.startswith("due ") else phrase
    return f"{verb} by {short_date(due)}, {when}."


def milestone_due(release: Release, kind: MilestoneKind) -> dt.date | None:
    """The release's first milestone of `kind`, if its timeline has one."""
    return db.session.scalar(sa.select(Milestone.due_on).where(Milestone.release_id == release.id,
                                                               Milestone.kind == kind)
                             .order_by(Milestone.position, Milestone.id).limit(1))


def with_deadline(body: str, verb: str, release: Release, kind: MilestoneKind) -> str:
    """`body`, then the release's milestone of `kind` as a deadline in Working Days (when its timeline has one)."""
    return _join(body, deadline_line(verb, milestone_due(release, kind)))


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def evidence_requested(criterion, question: str, due_on: dt.date | None) -> None:
    """OpsG asked the criterion's owner for more evidence."""
    release = criterion.release
    notify("evidence_requested", [criterion.owner_role],
           f"{release.name}: OpsG asks for more evidence on criterion {criterion.number}",
           _join(question, deadline_line("Answer", due_on),
                 "Answer with a comment or a file on the criterion's page."),
           url=portal_path("criteria.show", code=release.code, number=criterion.number), release=release,
           link_text="Answer the request")


def evidence_answered(request, actor, comment: str, file_name: str | None) -> None:
    """The owner answered: the OpsG members who review the criterion assess it again or ask again."""
    criterion = request.criterion
    release = criterion.release
    what = [f"Comment: {comment}" if comment else "", f"File: {file_name}" if file_name else ""]
    notify("evidence_answered", [Role.OPSG],
           f"{release.name}: {actor.role.label} answered your evidence request on criterion {criterion.number}",
           _join(f"{actor.name} ({actor.role.label}) answered: “{request.question}”", "\n".join(p for p in what if p),
                 "Read the answer, then assess the criterion or ask again.",
                 deadline_line("OpsG reviews the criteria", milestone_due(release, MilestoneKind.OPSG_REVIEW))),
           url=portal_path("criteria.show", code=release.code, number=criterion.number), release=release,
           link_text="Read the answer")


def vote_opened(release: Release, vote, members) -> None:
    """Each eligible Panel member is told, with a link straight to the ballot."""
    closes = f"The vote closes at {uk_time(vote.closes_at)} (UK time)." if vote.closes_at else \
        "The Chair closes the vote."
    notify("vote_opened", [], f"{release.name}: the Panel go/no-go vote is open",
           _join("Cast your vote (Go, No-go or Abstain) in the portal, with your password.", closes,
                 deadline_line("The Panel decides", milestone_due(release, MilestoneKind.PANEL_DECISION))),
           url=ballot_path(release), release=release, users=members, link_text="Cast your vote")


def alternate_appointed(release: Release, vote, member, alternate) -> None:
    """The alternate now votes in the member's place: their task, with the link to the ballot."""
    closes = f"The vote closes at {uk_time(vote.closes_at)} (UK time)." if vote.closes_at else \
        "The Chair closes the vote."
    notify("vote_opened", [], f"{release.name}: you vote for {member.name} as their alternate",
           _join(f"{member.name} appointed you to vote in their place in the Panel go/no-go vote. Cast the vote "
                 "for them with your own password; they can take their seat back until you have voted.", closes,
                 deadline_line("The Panel decides", milestone_due(release, MilestoneKind.PANEL_DECISION))),
           url=ballot_path(release), release=release, users=[alternate], link_text="Cast the vote")


def ballot_path(release: Release) -> str:
    return portal_path("decisions.vote", code=release.code) + "#ballot-panel"


def vote_closing(release: Release, vote, user) -> None:
    """A member who has not voted, before the close."""
    notify("vote_closing", [], f"{release.name}: the Panel vote closes soon and you have not voted",
           _join(f"The vote closes at {uk_time(vote.closes_at)} (UK time). Cast your vote before then.",
                 deadline_line("The Panel decides", milestone_due(release, MilestoneKind.PANEL_DECISION))),
           url=ballot_path(release), release=release, users=[user], link_text="Cast your vote")


def replan_due(release: Release) -> None:
    """No-go: SECAS re-plans (its page), OpsG chooses any further criteria to reopen (its page)."""
    subject = f"{release.name}: deferred, to be re-planned"
    notify("replan_due", [Role.SECAS], subject,
           "The Panel decided No-go. Set a new go-live date and the change note for the new RID version; "
           "OpsG may choose further criteria to reopen for the next round.",
           url=portal_path("decisions.replan", code=release.code), release=release, link_text="Re-plan the release")
    notify("replan_due", [Role.OPSG], subject,
           "The Panel decided No-go. Choose any further criteria to reopen for the next round, before or after "
           "SECAS sets the new go-live date.",
           url=portal_path("decisions.reassessment", code=release.code), release=release,
           link_text="Choose criteria to reopen")


def replanned(release: Release, old_go_live: dt.date, moves: list[tuple[Milestone, dt.date]], reopened,
              change_note: str) -> None:
    """Every role is told of the new go-live; a role with a milestone also of its own moved deadlines."""
    headline = (f"Go-live moves from {uk_date(old_go_live)} to {uk_date(release.planned_go_live)}. "
                f"Round {release.round} begins. Criteria reopened: "
                f"{', '.join(str(c.number) for c in reopened) or 'none yet'}.")
    url = portal_path("releases.show", code=release.code)
    by_role: dict[Role, list[str]] = {}
    for milestone, before in moves:
        line = f"{milestone.event}: {short_date(milestone.due_on)} (was {short_date(before)}), " \
               f"{due_phrase(milestone.due_on, today())}."
        by_role.setdefault(Role(milestone.acting_role), []).append(line)
    subject = f"{release.name}: re-planned for {uk_date(release.planned_go_live)}"
    for role in Role:
        lines = by_role.get(role)
        deadlines = ("Your new deadlines:\n" + "\n".join(f"- {line}" for line in lines)) if lines else ""
        notify("replanned", [role], subject, _join(headline, deadlines, change_note.strip()), url=url,
               release=release, link_text="See the new timeline")


def rid_version_issued(release: Release, version) -> None:
    """Everyone on the release is told of each RID version: the baseline as the start of evidence gathering, a
    later version with its change note. (The first drafts before the baseline are SECAS's working copies.)"""
    url = portal_path("releases.rid_version", code=release.code, major=version.major, minor=version.minor)
    if version.is_baseline:
        notify("rid_version_issued", list(Role), f"{release.name}: RID baselined as version {version.number}",
               f"The SEC Panel has baselined the RID as version {version.number}. Evidence gathering begins; every "
               "later change to the RID makes a new version with a change note.",
               url=url, release=release, link_text="Read the baselined RID")
    else:
        notify("rid_version_issued", list(Role), f"{release.name}: RID version {version.number} issued",
               f"RID version {version.number} has been issued. What changed: {version.change_note}",
               url=url, release=release, link_text="Read RID version " + version.number)
