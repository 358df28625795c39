"""Drafting (at go-live), editing and publishing (SECAS) the go-live notice. Each change writes its audit event in
the caller's transaction; who may edit or publish, and when, is the action table's (portal/workflow.py)."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..access import Invalid, NotFound
from ..audit.services import record_event
from ..database import locked, update_once
from ..extensions import db
from ..releases.models import DocumentImpact, Release, ScopeStatus, SecDocument
from ..timeutil import today, uk_date, utcnow
from ..urls import portal_path
from ..workflow import may, require
from .models import Notice, NoticeState

MONTH_YEAR = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|December)"
                        r"\s+(\d{4})\b")
VERSION_PREFIX = re.compile(r"^\s*(?:SEC\s*)?v\s*", re.IGNORECASE)
TITLE_MAX = 300
SUMMARY_MAX = 5000


def version_number(sec_version: str | None) -> str:
    """ "SEC v40.0" -> "40.0": the number the notice's title names."""
    return VERSION_PREFIX.sub("", sec_version or "").strip()


def release_month(release: Release, effective_on: dt.date) -> str:
    """The release's month and year as its name gives them ("February 2021"), else the go-live's."""
    match = MONTH_YEAR.search(release.name)
    return f"{match.group(1)} {match.group(2)}" if match else effective_on.strftime("%B %Y")


def notice_title(release: Release, effective_on: dt.date) -> str:
    return (f"SEC version {version_number(release.sec_version)} designated – "
            f"{release_month(release, effective_on)} SEC Release")


def _implemented(release: Release) -> list[dict]:
    """The approved modifications of the scope, in the scope's order."""
    return [{"reference": e.mp.reference, "title": e.mp.title, "url": e.mp.url}
            for e in release.scope if e.status == ScopeStatus.APPROVED]


def _documents_updated(release: Release) -> list[dict]:
    """The SEC documents the approved modifications change (the document impact matrix), each once, in order."""
    approved = [e.mp_id for e in release.scope if e.status == ScopeStatus.APPROVED]
    impacted = (sa.select(DocumentImpact.document_id)
                .where(DocumentImpact.release_id == release.id, DocumentImpact.mp_id.in_(approved)))
    documents = db.session.scalars(sa.select(SecDocument).where(SecDocument.id.in_(impacted))
                                   .order_by(SecDocument.position, SecDocument.id))
    return [{"name": d.name, "title": d.title} for d in documents]


def draft_notice(actor, release: Release) -> Notice:
    """Draft the notice as the release goes Live (inside confirm_go_live, which required its own action): the title,
    the go-live date and the lists as the RID has them now, kept with the notice."""
    effective_on = today()
    version = version_number(release.sec_version)
    notice = Notice(release_id=release.id, state=NoticeState.DRAFT, title=notice_title(release, effective_on),
                    summary=(f"The {release.name} went live on {uk_date(effective_on)}. SEC version {version} is "
                             "designated and takes effect from that date."),
                    sec_version=version, effective_on=effective_on, modifications=_implemented(release),
                    documents=_documents_updated(release))
    db.session.add(notice)
    db.session.flush()
    record_event(actor, "notice.drafted", f"Go-live notice drafted: {notice.title}", obj=notice, release=release,
                 after={"title": notice.title, "effective_on": str(effective_on),
                        "modifications": [m["reference"] for m in notice.modifications],
                        "documents": [d["name"] for d in notice.documents]})
    return notice


def _checked(title: str, summary: str) -> tuple[str, str]:
    title, summary = " ".join(title.split()), summary.strip()  # a title is one line
    if not title:
        raise Invalid("Enter the notice's title", field="title")
    if len(title) > TITLE_MAX:
        raise Invalid(f"Title must be {TITLE_MAX:,} characters or fewer", field="title")
    if not summary:
        raise Invalid("Enter the notice's text", field="summary")
    if len(summary) > SUMMARY_MAX:
        raise Invalid(f"Text must be {SUMMARY_MAX:,} characters or fewer", field="summary")
    return title, summary


def edit_notice(actor, release: Release, *, title: str, summary: str) -> Notice:
    """SECAS changes the draft's title and text; the change is audited, before and after."""
    release = locked(Release, release.id)
    facts = require("edit_notice", release, actor)
    notice = facts.notice
    title, summary = _checked(title, summary)
    changes = {"title": title, "summary": summary}
    before = {k: getattr(notice, k) for k, v in changes.items() if getattr(notice, k) != v}
    if not before:
        return notice  # nothing changed: nothing to record
    update_once(Notice, [Notice.id == notice.id, Notice.state == NoticeState.DRAFT], changes,
                "The notice has just been published. Reload the page.")
    db.session.refresh(notice)
    record_event(actor, "notice.edited", f"Go-live notice edited: {', '.join(before)}", obj=notice, release=release,
                 before=before, after={k: getattr(notice, k) for k in before})
    return notice


def publish_notice(actor, release: Release) -> Notice:
    """SECAS publishes the draft, exactly once: from then on it is public, in the feed, and never changes."""
    release = locked(Release, release.id)
    notice = require("publish_notice", release, actor).notice
    update_once(Notice, [Notice.id == notice.id, Notice.state == NoticeState.DRAFT],
                {"state": NoticeState.PUBLISHED, "published_at": utcnow(), "published_by_id": actor.id},
                "The notice has just been published by someone else.")
    db.session.refresh(notice)
    record_event(actor, "notice.published", f"Go-live notice published: {notice.title}", obj=notice,
                 release=release, before={"state": str(NoticeState.DRAFT)},
                 after={"state": str(NoticeState.PUBLISHED), "title": notice.title})
    return notice


# --- Reading -------------------------------------------------------------------------------------------

def notice_of(release: Release) -> Notice | None:
    return db.session.scalar(sa.select(Notice).where(Notice.release_id == release.id))


def published_notices() -> list[Notice]:
    """Every published notice, the newest first."""
    return list(db.session.scalars(sa.select(Notice).where(Notice.state == NoticeState.PUBLISHED)
                                   .order_by(Notice.published_at.desc(), Notice.id.desc())
                                   .options(joinedload(Notice.release))))


def published_notice_or_404(code: str) -> Notice:
    """The published notice of the release `code`; a draft is not public, so it is not found either."""
    notice = db.session.scalar(sa.select(Notice).join(Release, Release.id == Notice.release_id)
                               .where(Release.code == code, Notice.state == NoticeState.PUBLISHED))
    if notice is None:
        raise NotFound("There is no published go-live notice for that release.")
    return notice


def notice_link(facts, user) -> tuple[str, str] | None:
    """The release page's link to its notice: the public one once published; the draft for whoever may act on it."""
    notice = facts.notice
    if notice is None:
        return None
    if notice.is_published:
        return f"Go-live notice: {notice.title}", portal_path("notices.show", code=facts.release.code)
    if may("publish_notice", facts, user) or may("edit_notice", facts, user):
        return "Review and publish the draft go-live notice", portal_path("notices.manage", code=facts.release.code)
    return None
