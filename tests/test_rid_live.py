"""The release page shows the RID from Release.rid_live, which every commit that changes the RID refreshes.

(tests/conftest.py also checks after every test that each stored RID equals what its tables say.)
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import undefer

from portal.extensions import db
from portal.releases.models import GlossaryTerm, Milestone, MilestoneKind, ParticipantGroup, Release
from portal.releases.services import rid_snapshot
from releases_html import page_text

BASE = "/releases/feb-2021"


def stored_rid(app) -> dict | None:
    with app.app_context():
        return db.session.scalar(sa.select(Release.rid_live).where(Release.code == "feb-2021"))


def test_a_new_release_has_its_rid_stored(app, make_release):
    make_release()
    with app.app_context():
        release = db.session.scalar(sa.select(Release).options(undefer(Release.rid_live)))
        assert release.rid_live is not None
        assert release.rid_live["release"]["name"] == "February 2021 SEC Release"
        assert len(release.rid_live["criteria"]) == 10


def test_an_edit_through_the_portal_shows_on_the_release_page(client, users, make_release, app):
    make_release()
    with app.app_context():
        milestone = db.session.scalar(sa.select(Milestone).filter_by(kind=MilestoneKind.EVIDENCE))
        milestone_id, due = milestone.id, milestone.due_on
    client.login(users["secas"])
    response = client.post_form(f"{BASE}/milestones/{milestone_id}/edit", {
        "due_on": [str(due.day), str(due.month), str(due.year)], "event": "DCC sends its evidence pack",
        "notes": "", "acting_role": "dcc"})
    assert response.status_code == 303
    assert "DCC sends its evidence pack" in page_text(client.get(BASE).get_data(as_text=True))
    assert any(m["event"] == "DCC sends its evidence pack" for m in stored_rid(app)["milestones"])


def test_changes_made_outside_the_edit_pages_refresh_it_too(client, users, make_release, app):
    """A deleted row, and shared reference data that every RID lists (a new participant group)."""
    make_release()
    with app.app_context():
        term = db.session.scalars(sa.select(GlossaryTerm).order_by(GlossaryTerm.id)).first()
        acronym = term.acronym
        db.session.delete(term)
        db.session.add(ParticipantGroup(name="Shared Resource Providers", position=99))
        db.session.commit()
    rid = stored_rid(app)
    assert acronym not in [g["acronym"] for g in rid["glossary"]]
    assert "Shared Resource Providers" in [g["name"] for g in rid["participant_groups"]]
    client.login(users["dcc"])
    assert "Shared Resource Providers" in client.get(BASE).get_data(as_text=True)


def test_a_rolled_back_change_leaves_it_alone(app, make_release):
    make_release()
    before = stored_rid(app)
    with app.app_context():
        db.session.scalars(sa.select(GlossaryTerm)).first().term = "Something else"
        db.session.flush()
        db.session.rollback()
        db.session.add(ParticipantGroup(name="Unrelated", position=100))  # a later commit that is not about it
        db.session.rollback()
    assert stored_rid(app) == before


def test_without_a_stored_rid_the_page_reads_the_tables_and_the_command_fills_it(client, users, make_release, app):
    make_release()
    with app.app_context():
        db.session.execute(sa.update(Release).values(rid_live=None))
        db.session.commit()
    client.login(users["dcc"])
    page = page_text(client.get(BASE).get_data(as_text=True))
    assert "Release Implementation Document" in page or "February 2021 SEC Release" in page
    assert "MP092" in page
    assert stored_rid(app) is None
    result = app.test_cli_runner().invoke(args=["portal", "refresh-rid"])
    assert "Stored the current RID of 1 release(s)." in result.output
    with app.app_context():
        release = db.session.scalar(sa.select(Release).options(undefer(Release.rid_live)))
        assert release.rid_live == rid_snapshot(release)


def test_two_edits_committed_at_once_both_reach_the_stored_rid(app, make_release, db_url):
    """Two transactions change the same RID at the same moment: each rebuilds the stored copy with the release row
    locked, so the later one sees the earlier one's change. (SQLite runs one writer at a time anyway.)"""
    import threading

    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): the overlap needs PostgreSQL")
    make_release()
    both_flushed = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def edit(change):
        try:
            with app.app_context():
                change()
                db.session.flush()  # each has written its row and noted the release as stale
                both_flushed.wait()
                db.session.commit()  # each rebuilds the stored RID before committing
        except BaseException as err:  # noqa: BLE001 - a thread's failure must fail the test
            errors.append(err)

    def milestone():
        db.session.scalars(sa.select(Milestone).filter_by(kind=MilestoneKind.EVIDENCE)).one().event = "Evidence in"

    def glossary():
        db.session.scalars(sa.select(GlossaryTerm).order_by(GlossaryTerm.id)).first().term = "Renamed term"

    threads = [threading.Thread(target=edit, args=(change,)) for change in (milestone, glossary)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    rid = stored_rid(app)
    assert "Evidence in" in [m["event"] for m in rid["milestones"]]
    assert "Renamed term" in [g["term"] for g in rid["glossary"]]


def test_a_savepoint_rolled_back_keeps_the_outer_change_to_refresh(app, make_release):
    make_release()
    with app.app_context():
        db.session.scalars(sa.select(GlossaryTerm).order_by(GlossaryTerm.id)).first().term = "Outer change"
        db.session.flush()
        try:
            with db.session.begin_nested():
                db.session.add(ParticipantGroup(name=None))  # refused by NOT NULL: the savepoint rolls back
                db.session.flush()
        except sa.exc.IntegrityError:
            pass
        db.session.commit()
    assert "Outer change" in [g["term"] for g in stored_rid(app)["glossary"]]
