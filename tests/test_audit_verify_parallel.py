"""`flask audit verify` walks a long chain in several processes at once: whatever was done to the chain, the
report is the one a single walk gives (the same first broken event, the same reason, the same count)."""
import pytest
import sqlalchemy as sa

from portal.access import Role
from portal.audit import services as audit_services
from portal.audit.keys import audit_keys
from portal.audit.models import AuditEvent
from portal.audit.services import link_hash, record_event, verify_chain
from portal.auth.models import User
from portal.extensions import db

EVENTS = 30  # three ranges of ten when walked by three processes: (0, 10], (10, 20], (20, 30]


@pytest.fixture
def chain(app, make_user, monkeypatch):
    monkeypatch.setattr(audit_services, "PARALLEL_MIN_EVENTS", 5)
    user = make_user(Role.DCC)
    with app.app_context():
        actor = db.session.get(User, user.id)
        while db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) < EVENTS:
            record_event(actor, "test.step", "A step", before={"n": 1}, after={"n": 2})
        db.session.commit()
        dialect = db.engine.dialect.name
    drop = (["DROP TRIGGER audit_event_append_only ON audit_event"] if dialect == "postgresql"
            else ["DROP TRIGGER audit_event_no_update", "DROP TRIGGER audit_event_no_delete"])
    _sql(app, *drop)


def _sql(app, *statements: str, params: dict | None = None) -> None:
    with app.app_context(), db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params or {})


def _forge(app, event_id: int) -> None:
    """Change an event and recompute its own hash with the key: the next event no longer follows it."""
    with app.app_context():
        event = db.session.get(AuditEvent, event_id)
        forged = link_hash(event.prev_hash, event.canonical() | {"summary": "Forged"},
                           audit_keys().hmac_keys[event.key_id])
    _sql(app, "UPDATE audit_event SET summary = 'Forged', hash = :h WHERE id = :id",
         params={"h": forged, "id": event_id})


def _reports(app, anchors=None):
    with app.app_context():
        one = verify_chain(anchors=anchors)
        three = verify_chain(anchors=anchors, workers=3)
    return one, three


def _same(one, three):
    fields = ("ok", "checked", "head_hash", "first_broken_id", "problem", "witnessed")
    return {f: getattr(one, f) for f in fields} == {f: getattr(three, f) for f in fields}


def test_an_untouched_chain_verifies_the_same_in_three_processes(app, chain):
    with app.app_context():
        assert audit_services._ranges(0, 3) == [(0, 10), (10, 20), (20, 30)]
    one, three = _reports(app)
    assert one.ok and one.checked == EVENTS
    assert _same(one, three)


@pytest.mark.parametrize("damage, broken_at, reason", [
    ("UPDATE audit_event SET summary = 'x' WHERE id = 15", 15, "content was changed"),
    ("UPDATE audit_event SET summary = 'x' WHERE id = 10", 10, "content was changed"),   # last of a range
    ("UPDATE audit_event SET summary = 'x' WHERE id = 21", 21, "content was changed"),   # first of a range
    ("DELETE FROM audit_event WHERE id = 10", 10, "missing"),                             # the range's end
    ("DELETE FROM audit_event WHERE id = 11", 11, "missing"),                             # the range's start
    ("DELETE FROM audit_event WHERE id = 30", None, None),                                # the head: shorter
    ("UPDATE audit_event SET key_id = NULL WHERE id = 11", 11, "no audit key"),
    ("UPDATE audit_event SET key_id = 'gone' WHERE id = 25", 25, "not configured"),
])
def test_damage_is_reported_as_a_single_walk_reports_it(app, chain, damage, broken_at, reason):
    _sql(app, damage)
    one, three = _reports(app)
    if broken_at is None:
        assert one.ok and one.checked == EVENTS - 1
    else:
        assert not one.ok and one.first_broken_id == broken_at and reason in one.problem
    assert _same(one, three)


@pytest.mark.parametrize("event_id", [10, 20, 5])
def test_a_rehashed_forgery_at_a_range_boundary_breaks_the_next_link(app, chain, event_id):
    _forge(app, event_id)
    one, three = _reports(app)
    assert not one.ok and one.first_broken_id == event_id + 1 and "does not follow" in one.problem
    assert _same(one, three)


def test_anchors_are_held_in_every_range(app, chain):
    with app.app_context():
        real = db.session.get(AuditEvent, 17).hash
    one, three = _reports(app, anchors={17: ("0" * 64, "the witness")})
    assert not one.ok and one.first_broken_id == 17 and "the witness" in one.problem
    assert _same(one, three)
    one, three = _reports(app, anchors={17: (real, "the witness"), 40: ("0" * 64, "a pack")})
    assert not one.ok and "a pack records 40 events" in one.problem
    assert _same(one, three)


def test_the_command_names_the_same_event_with_one_process_or_three(app, chain):
    _sql(app, "UPDATE audit_event SET summary = 'x' WHERE id = 12")
    outputs = [app.test_cli_runner().invoke(args=["audit", "verify", "--workers", n]) for n in ("1", "3")]
    assert [r.exit_code for r in outputs] == [1, 1]
    assert outputs[0].output == outputs[1].output
    assert "BROKEN at event 12" in outputs[0].output


def test_a_short_chain_is_walked_in_one_process(app, chain, monkeypatch):
    monkeypatch.setattr(audit_services, "PARALLEL_MIN_EVENTS", 100_000)
    with app.app_context():
        assert audit_services._ranges(0, 8) == []
        assert verify_chain(workers=8).checked == EVENTS


_real_walk_range = audit_services._walk_range


def _as_if_event_10_changed(bounds):
    report, started_from = _real_walk_range(bounds)
    return report, ("0" * 64 if bounds[0] == 10 else started_from)


def test_a_range_that_started_from_another_event_than_the_one_verified_is_refused(app, chain, monkeypatch):
    """Event 10 changed between the walk that verified it and the walk of the range after it (an edit while the
    command ran): the join names event 11, which no longer follows a verified event."""
    monkeypatch.setattr(audit_services, "_walk_range", _as_if_event_10_changed)
    with app.app_context():
        report = verify_chain(workers=3)
    assert not report.ok and report.first_broken_id == 11 and "does not follow" in report.problem
    assert report.checked == 10
