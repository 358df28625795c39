"""SECAS moves a modification from one release's scope to another's as one action; the register shows its history."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.extensions import db
from portal.access import Invalid
from portal.releases import lifecycle
from portal.releases.models import (DocumentImpact, ModificationProposal, ParticipantImpact, Release, RidVersion,
                                    ScopeEntry, ScopeStatus, Stage)
from portal.releases.services import add_rid_version
from releases_html import page_text


@pytest.fixture
def two(app, users, make_release):
    """The demo release (baselined, evidence gathering) and a June release made from it (draft)."""
    source = make_release(Stage.EVIDENCE)
    with app.app_context():
        release = db.session.get(Release, source.id)
        add_rid_version(None, release, "Baselined by the SEC Panel.", major=True, baseline=True)
        target = lifecycle.create_release(db.session.get(User, users["secas"].id), code="jun-2031",
                                          name="June 2031 SEC Release", planned_go_live=dt.date(2031, 6, 26),
                                          sec_version="SEC v41.0", template=release)
        db.session.commit()
        entry = db.session.scalar(sa.select(ScopeEntry).join(ModificationProposal)
                                  .where(ScopeEntry.release_id == source.id, ModificationProposal.reference == "MP092"))
        return {"source": source.id, "target": target.id, "entry": entry.id, "mp": entry.mp_id}


def _state(app) -> tuple:
    with app.app_context():
        return (list(db.session.execute(sa.select(ScopeEntry.id, ScopeEntry.release_id, ScopeEntry.status,
                                                  ScopeEntry.moved_to_id).order_by(ScopeEntry.id))),
                db.session.scalar(sa.select(sa.func.count(RidVersion.id))),
                list(db.session.execute(sa.select(ParticipantImpact.release_id, ParticipantImpact.mp_id)
                                        .order_by(ParticipantImpact.id))),
                db.session.scalar(sa.select(sa.func.count(AuditEvent.id))))


def _url(two) -> str:
    return f"/releases/feb-2021/scope/{two['entry']}/move"


def test_secas_moves_a_modification_with_its_impacts_audit_and_versions(app, users, login, two):
    client = login(users["secas"])
    page = client.get(_url(two)).get_data(as_text=True)
    assert "Move MP092 to another release" in page and "June 2031 SEC Release" in page
    with app.app_context():
        ticks = {m: sorted(getattr(r, c) for r in db.session.scalars(sa.select(m).filter_by(
            release_id=two["source"], mp_id=two["mp"]))) for m, c in ((ParticipantImpact, "group_id"),
                                                                      (DocumentImpact, "document_id"))}
        versions = len(db.session.get(Release, two["source"]).rid_versions)
    response = client.post_form(_url(two), {"target_id": str(two["target"]), "change_note": "MP092 moves to June."})
    assert response.status_code == 303, page_text(response.get_data(as_text=True))[:800]
    with app.app_context():
        old = db.session.get(ScopeEntry, two["entry"])
        assert old.status == ScopeStatus.MOVED and old.moved_to_id == two["target"]
        new = db.session.scalar(sa.select(ScopeEntry).filter_by(release_id=two["target"], mp_id=two["mp"]))
        assert new.status == ScopeStatus.TARGETED and new.summary == old.summary
        for model, column in ((ParticipantImpact, "group_id"), (DocumentImpact, "document_id")):
            assert not db.session.scalars(sa.select(model).filter_by(release_id=two["source"],
                                                                     mp_id=two["mp"])).all()
            assert sorted(getattr(r, column) for r in db.session.scalars(sa.select(model).filter_by(
                release_id=two["target"], mp_id=two["mp"]))) == ticks[model]
        source, target = db.session.get(Release, two["source"]), db.session.get(Release, two["target"])
        # The baselined source gets a new version with the note; the draft target stays at 0.1.
        assert len(source.rid_versions) == versions + 1 and source.current_rid.change_note == "MP092 moves to June."
        assert [v.number for v in target.rid_versions] == ["0.1"]
        for action, release_id in (("scope.moved_out", two["source"]), ("scope.moved_in", two["target"])):
            assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).filter_by(
                action=action, release_id=release_id)) == 1
    # The source keeps its "moved to" line; June lists it.
    assert "June 2031 SEC Release" in page_text(client.get("/releases/feb-2021").get_data(as_text=True))
    assert "MP092" in page_text(client.get("/releases/jun-2031").get_data(as_text=True))


def test_a_baselined_move_needs_a_change_note(app, users, login, two):
    client = login(users["secas"])
    before = _state(app)
    response = client.post_form(_url(two), {"target_id": str(two["target"]), "change_note": ""})
    assert response.status_code == 422 and "Enter a change note" in response.get_data(as_text=True)
    assert _state(app) == before


def test_no_target_or_the_same_release_is_422_and_nothing_stored(app, users, login, two):
    client = login(users["secas"])
    before = _state(app)
    for target in ("0", str(two["source"])):
        response = client.post_form(_url(two), {"target_id": target, "change_note": "x"})
        assert response.status_code == 422, target
        assert "There is a problem" in response.get_data(as_text=True)
    assert _state(app) == before
    with app.app_context():
        actor, entry = db.session.get(User, users["secas"].id), db.session.get(ScopeEntry, two["entry"])
        with pytest.raises(Invalid):
            lifecycle.move_modification(actor, entry, entry.release, entry.release, "x")
        db.session.rollback()


def test_a_live_target_or_one_that_already_has_it_is_409_and_nothing_stored(app, users, login, two):
    client = login(users["secas"])
    with app.app_context():
        db.session.get(Release, two["target"]).stage = Stage.LIVE
        db.session.commit()
    before = _state(app)
    response = client.post_form(_url(two), {"target_id": str(two["target"]), "change_note": "x"})
    assert response.status_code == 409 and "already live" in response.get_data(as_text=True)
    assert _state(app) == before
    with app.app_context():
        db.session.get(Release, two["target"]).stage = Stage.DRAFT
        db.session.add(ScopeEntry(release_id=two["target"], mp_id=two["mp"], status=ScopeStatus.APPROVED,
                                  summary="Already here."))
        db.session.commit()
    before = _state(app)
    response = client.post_form(_url(two), {"target_id": str(two["target"]), "change_note": "x"})
    assert response.status_code == 409 and "already approved in June 2031" in response.get_data(as_text=True)
    assert _state(app) == before


def test_a_moved_entry_cannot_move_again_and_other_roles_are_refused(app, users, login, two):
    client = login(users["secas"])
    assert client.post_form(_url(two), {"target_id": str(two["target"]), "change_note": "x"}).status_code == 303
    page = client.get(_url(two)).get_data(as_text=True)
    assert "only an approved or targeted modification can move" in page and 'name="target_id"' not in page
    before = _state(app)
    assert client.post_form(_url(two), {"target_id": str(two["target"]), "change_note": "x"}).status_code == 409
    assert _state(app) == before
    client.logout()
    client = login(users["dcc"])
    before = _state(app)  # signing in is an audit event
    assert client.post_form(_url(two), {"target_id": str(two["target"]), "change_note": "x"}).status_code == 403
    assert _state(app) == before


def test_mp_conflict_refuses_a_modification_targeted_in_another_release(app, two):
    with app.app_context():
        mp, target = db.session.get(ModificationProposal, two["mp"]), db.session.get(Release, two["target"])
        assert "MP092 is targeted in February 2021 SEC Release" in lifecycle.mp_conflict(mp, target)
        fresh = ModificationProposal(reference="MP999", title="A new one")
        db.session.add(fresh)
        db.session.flush()
        assert lifecycle.mp_conflict(fresh, target) is None


def test_the_register_shows_each_modification_and_its_history_to_every_role(app, users, login, two):
    client = login(users["secas"])
    assert client.post_form(_url(two), {"target_id": str(two["target"]), "change_note": "x"}).status_code == 303
    with app.app_context():
        db.session.get(Release, two["target"]).stage = Stage.LIVE
        db.session.commit()
    for key in ("dcc", "opsg", "panel", "secas"):
        client.logout()
        client = login(users[key])
        response = client.get("/modifications")
        assert response.status_code == 200
        text = page_text(response.get_data(as_text=True))
        assert "MP092 New Planned Maintenance methodology" in text
        assert "Moved from February 2021 SEC Release to June 2031 SEC Release" in text
        assert "Implemented when June 2031 SEC Release went live" in text
        assert "Targeted in February 2021 SEC Release" in text  # the other MPs
        assert ("Move MP095 from February 2021 SEC Release" in text) == (key == "secas")


def test_the_release_page_offers_secas_the_move_for_each_modification_in_scope(app, users, login, two):
    move = f'href="{_url(two)}"'
    assert move in login(users["secas"]).get("/releases/feb-2021").get_data(as_text=True)
    from decisions_support import client_for
    assert move not in client_for(app, users["dcc"]).get("/releases/feb-2021").get_data(as_text=True)


def test_the_register_is_paged_by_reference(app, users, login, make_release):
    from portal.releases.register import PER_PAGE
    make_release()  # the demo's MP092, MP095, MP111, MP122
    with app.app_context():
        db.session.add_all(ModificationProposal(reference=f"MP{900 + n}", title=f"Extra {n}")
                           for n in range(PER_PAGE))
        db.session.commit()
    client = login(users["opsg"])
    first = page_text(client.get("/modifications").get_data(as_text=True))
    assert "MP092" in first and f"MP{900 + PER_PAGE - 5}" in first and f"MP{900 + PER_PAGE - 1}" not in first
    second = client.get("/modifications?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert second.lstrip().startswith('<div id="mp-register">') and "<html" not in second
    assert f"MP{900 + PER_PAGE - 1}" in page_text(second) and "MP092" not in page_text(second)
    assert client.get("/modifications?page=99999999999999999999").status_code == 200
