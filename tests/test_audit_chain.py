"""The audit chain: append-only against direct SQL, and any tampering is named by `flask audit verify`."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from portal.access import Role
from portal.audit.models import GENESIS_HASH, AuditEvent
from portal.audit.services import chain_status, record_event, verify_chain
from portal.auth.models import User
from portal.extensions import db


@pytest.fixture
def chain(app, make_user):
    """Five events by a DCC user; returns nothing (ids 1..5 are the user's creation and these)."""
    user = make_user(Role.DCC)
    with app.app_context():
        actor = db.session.get(User, user.id)
        for n in range(5):
            record_event(actor, "test.step", f"Step {n}", before={"n": n}, after={"n": n + 1})
        db.session.commit()
        return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


def _sql(app, *statements: str, params: dict | None = None) -> None:
    with app.app_context(), db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params or {})


def _drop_triggers(app) -> None:
    """What a DBA could do before editing the table by hand."""
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect == "postgresql":
        _sql(app, "DROP TRIGGER audit_event_append_only ON audit_event")
    else:
        _sql(app, "DROP TRIGGER audit_event_no_update", "DROP TRIGGER audit_event_no_delete")


def _verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_an_untouched_chain_verifies(app, chain):
    code, output = _verify(app)
    assert code == 0
    assert f"Audit chain verified: {chain} events" in output
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert events[0].prev_hash == GENESIS_HASH
        assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
        assert chain_status().ok


def test_an_empty_chain_verifies(app):
    assert _verify(app)[0] == 0


def test_updates_and_deletes_are_refused_by_the_database(app, chain):
    for statement in ("UPDATE audit_event SET summary = 'forged' WHERE id = 2",
                      "DELETE FROM audit_event WHERE id = 2"):
        with pytest.raises(DatabaseError, match="append-only"):
            _sql(app, statement)
    assert _verify(app)[0] == 0


def test_an_edited_field_is_detected_at_that_event(app, chain):
    _drop_triggers(app)
    _sql(app, "UPDATE audit_event SET summary = 'Nothing happened' WHERE id = 3")
    code, output = _verify(app)
    assert code == 1
    assert "BROKEN at event 3" in output
    assert "content was changed" in output
    assert "2 events before it verify" in output


def test_an_edited_actor_is_detected(app, chain):
    _drop_triggers(app)
    _sql(app, "UPDATE audit_event SET actor_name = 'Someone else' WHERE id = 4")
    code, output = _verify(app)
    assert code == 1 and "BROKEN at event 4" in output


def test_an_edit_that_recomputes_its_own_hash_breaks_the_next_link(app, chain):
    """Even with the audit key (tests/test_audit_tamper.py: without it, the edited event itself fails)."""
    _drop_triggers(app)
    with app.app_context():
        event = db.session.get(AuditEvent, 3)
        content = event.canonical() | {"summary": "Forged"}
        from portal.audit.keys import audit_keys
        from portal.audit.services import link_hash
        forged_hash = link_hash(event.prev_hash, content, audit_keys().hmac_keys[event.key_id])
    _sql(app, "UPDATE audit_event SET summary = 'Forged', hash = :h WHERE id = 3", params={"h": forged_hash})
    code, output = _verify(app)
    assert code == 1 and "BROKEN at event 4" in output and "does not follow" in output


def test_a_deleted_event_is_detected(app, chain):
    _drop_triggers(app)
    _sql(app, "DELETE FROM audit_event WHERE id = 3")
    code, output = _verify(app)
    assert code == 1
    assert "BROKEN at event 3" in output and "missing" in output


def test_a_forged_event_is_detected(app, chain):
    _drop_triggers(app)
    with app.app_context():
        head = db.session.get(AuditEvent, chain)
        columns = dict(occurred_at=head.occurred_at, actor_name="Forger", actor_role="panel",
                       action="vote.cast", summary="Voted Go", details={}, prev_hash=head.hash, hash="f" * 64)
        db.session.execute(sa.insert(AuditEvent).values(id=chain + 1, **columns))
        db.session.commit()
    code, output = _verify(app)
    assert code == 1
    assert f"BROKEN at event {chain + 1}" in output


def test_swapping_two_events_ids_is_detected(app, chain):
    _drop_triggers(app)
    _sql(app, "UPDATE audit_event SET id = 1000 WHERE id = 2",
         "UPDATE audit_event SET id = 2 WHERE id = 3",
         "UPDATE audit_event SET id = 3 WHERE id = 1000")
    code, output = _verify(app)
    assert code == 1 and "BROKEN at event 2" in output


def test_swapping_two_events_contents_is_detected(app, chain):
    _drop_triggers(app)
    _sql(app, "UPDATE audit_event SET summary = 'tmp' WHERE id = 2",
         "UPDATE audit_event SET summary = (SELECT summary FROM audit_event WHERE id = 3) WHERE id = 2",
         "UPDATE audit_event SET summary = 'Step 0' WHERE id = 3")
    code, output = _verify(app)
    assert code == 1 and "BROKEN at event 2" in output


def test_chain_status_reports_the_break(app, chain):
    _drop_triggers(app)
    _sql(app, "UPDATE audit_event SET summary = 'x' WHERE id = 5")
    with app.app_context():
        status = chain_status()
        assert not status.ok
        assert status.first_broken_id == 5
        assert verify_chain().first_broken_id == 5


def test_page_check_between_full_walks_verifies_newer_events_and_the_checkpoint(app, chain, make_user):
    """With a recheck interval, pages verify only new events; an edit anywhere shows at the next full walk."""
    app.config["AUDIT_CHAIN_RECHECK_SECONDS"] = 3600
    user = make_user(Role.DCC)
    with app.app_context():
        first = chain_status()
        assert first.ok
        record_event(db.session.get(User, user.id), "test.step", "A later step")
        db.session.commit()
        later = chain_status()
        assert later.ok and later.checked == first.checked + 1
    _drop_triggers(app)
    # A forged newer event is caught at once.
    _sql(app, "UPDATE audit_event SET summary = 'forged' WHERE id = :id", params={"id": later.checked})
    with app.app_context():
        report = chain_status()
        assert not report.ok and report.first_broken_id == later.checked
    # An older edit waits for the full walk, which the interval decides.
    _sql(app, "UPDATE audit_event SET summary = 'Step 1' WHERE id = :id", params={"id": later.checked})
    _sql(app, "UPDATE audit_event SET summary = 'rewritten' WHERE id = 2")
    app.config["AUDIT_CHAIN_RECHECK_SECONDS"] = 0
    with app.app_context():
        report = chain_status()
        assert not report.ok and report.first_broken_id == 2
