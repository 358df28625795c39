"""A database writer cannot shorten, extend or rewrite the audit chain unseen: the events are linked by HMAC under a
key outside the database, and signed checkpoints sit in the witness file. Each tampering below passed `flask audit
verify` and the pages' chain check before the chain was keyed."""
from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

from config import Config, TestConfig
from portal import create_app
from portal.access import Role
from portal.audit import witness
from portal.audit.keys import audit_keys
from portal.audit.models import AuditCheckpoint, AuditEvent, canonical_content
from portal.audit.services import chain_status, link_hash, record_event, signed_by_portal
from portal.auth.models import User
from portal.extensions import db

EVERY = 5  # a checkpoint every 5 events in these tests


@pytest.fixture
def app_config(app_config):
    return app_config | {"AUDIT_CHECKPOINT_EVERY": EVERY}


@pytest.fixture
def portal(app, client, make_user, make_release):
    """A release, a signed-in DCC user, and steps up to a checkpointed head of at least 20 events."""
    release = make_release()
    user = make_user(Role.DCC)
    client.login(user)
    with app.app_context():
        actor = db.session.get(User, user.id)
        n = 0
        while n < 20 or n % EVERY:
            n = record_event(actor, "test.step", f"Step {n}", after={"n": n}).id
        db.session.commit()
    return {"release": release, "events": n, "witness": app.config["AUDIT_WITNESS_PATH"]}


def _sql(app, *statements: str, params: dict | None = None) -> None:
    with app.app_context(), db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params or {})


def _drop_triggers(app) -> None:
    """What anyone with write access to the database can do first."""
    with app.app_context():
        dialect = db.engine.dialect.name
    for table in ("audit_event", "audit_checkpoint"):
        if dialect == "postgresql":
            _sql(app, f"DROP TRIGGER {table}_append_only ON {table}")
        else:
            _sql(app, f"DROP TRIGGER {table}_no_update", f"DROP TRIGGER {table}_no_delete")


def _verify(app, *args: str):
    result = app.test_cli_runner().invoke(args=["audit", "verify", *args])
    return result.exit_code, result.output


def _page(client, release) -> str:
    response = client.get(f"/releases/{release.code}/audit/chain", headers={"HX-Request": "true"})
    assert response.status_code == 200
    return " ".join(response.get_data(as_text=True).split())


def _events(app) -> list[dict]:
    with app.app_context():
        return [dict(row._mapping) for row in db.session.execute(
            sa.select(*AuditEvent.__table__.c).order_by(AuditEvent.id))]


def _rewrite(app, events: list[dict]) -> None:
    """Replace the whole table by `events`, each relinked by the public formula (plain SHA-256, no key)."""
    prev_hash = "0" * 64
    for event in events:
        event.update(key_id=None, prev_hash=prev_hash)
        event["hash"] = prev_hash = link_hash(prev_hash, canonical_content(_Row(event)), None)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.delete(AuditCheckpoint))  # the database's checkpoints would give it away
        conn.execute(sa.delete(AuditEvent))
        conn.execute(sa.insert(AuditEvent), events)


class _Row:
    """An event's columns as attributes, as canonical_content reads them."""

    def __init__(self, values: dict):
        self.__dict__.update(values)


def _cut_tail(app, n, keep):
    _sql(app, "DELETE FROM audit_event WHERE id > :keep", params={"keep": keep})
    return f"the witness records {n} events; the database holds {keep}", keep + 1


def _truncate_last(app, n):
    return _cut_tail(app, n, n - 1)


def _truncate_tail(app, n):
    return _cut_tail(app, n, n - 12)


def _delete_all(app, n):
    _sql(app, "DELETE FROM audit_checkpoint", "DELETE FROM audit_event")
    return f"the witness records {n} events; the database holds 0", 1


def _append(app, n, key_id):
    """A forged event after the head, hashed by the public formula, claiming `key_id`."""
    events = _events(app)
    head = events[-1]
    forged = head | {"id": n + 1, "summary": "Voted Go", "action": "vote.cast", "prev_hash": head["hash"],
                     "key_id": key_id}
    forged["hash"] = link_hash(head["hash"], canonical_content(_Row(forged)), None)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.insert(AuditEvent), [forged])
    return n + 1


def _forged_append(app, n):
    return "its content was changed after it was written, or the portal did not write it", _append(app, n, "1")


def _forged_append_without_key(app, n):
    return "it has no audit key, yet follows keyed events", _append(app, n, None)


def _full_rewrite(app, n):
    events = _events(app)
    for event in events:
        event["summary"] = event["summary"].replace("Step", "Rewritten step")
    _rewrite(app, events)
    return "it is not the event the witness records at this point", None


def _edit_and_rehash_the_rest(app, n):
    """The edit that used to pass: every later hash recomputed by the public formula, key ids left as they were."""
    events = _events(app)
    events[6]["summary"] = "Nothing happened"
    prev_hash = events[5]["hash"]
    for event in events[6:]:
        event["prev_hash"] = prev_hash
        event["hash"] = prev_hash = link_hash(prev_hash, canonical_content(_Row(event)), None)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.delete(AuditEvent).where(AuditEvent.id >= 7))
        conn.execute(sa.insert(AuditEvent), events[6:])
    return "its content was changed after it was written, or the portal did not write it", 7


def _middle_delete_renumber_rehash(app, n):
    events = [e for e in _events(app) if e["id"] != 8]
    for number, event in enumerate(events, start=1):
        event["id"] = number
    _rewrite(app, events)
    return "it is not the event the witness records at this point", None


def _edit(app, n):
    _sql(app, "UPDATE audit_event SET summary = 'Nothing happened' WHERE id = 7")
    return "its content was changed after it was written", 7


def _reorder(app, n):
    _sql(app, "UPDATE audit_event SET id = 1000 WHERE id = 7",
         "UPDATE audit_event SET id = 7 WHERE id = 8",
         "UPDATE audit_event SET id = 8 WHERE id = 1000")
    return "does not follow the event before it", 7


TAMPERING = [_truncate_last, _truncate_tail, _delete_all, _forged_append, _forged_append_without_key, _full_rewrite,
             _edit_and_rehash_the_rest, _middle_delete_renumber_rehash, _edit, _reorder]


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__.strip("_"))
def test_tampering_is_found_by_verify_and_by_the_page(app, client, portal, tamper):
    assert _verify(app)[0] == 0
    assert "Verified" in _page(client, portal["release"])
    _drop_triggers(app)
    problem, broken_at = tamper(app, portal["events"])

    code, output = _verify(app)
    assert code == 1, output
    assert problem in output
    if broken_at:
        assert f"BROKEN at event {broken_at}:" in output

    page = _page(client, portal["release"])
    assert "Broken" in page and "Verified" not in page
    if broken_at:
        assert f"broken at event {broken_at}:" in page and problem in page


def test_a_rewritten_chain_is_found_at_its_first_event(app, portal):
    """Rehashed from the start, the chain differs from the witness's very first checkpoint."""
    _drop_triggers(app)
    _full_rewrite(app, portal["events"])
    code, output = _verify(app)
    assert code == 1 and "BROKEN at event 1: it is not the event the witness records" in output


def test_a_cut_shows_on_a_page_between_full_walks(app, client, portal):
    """Pages verify only newer events between full walks; a chain cut behind the newest checkpoint shows at once."""
    app.config["AUDIT_CHAIN_RECHECK_SECONDS"] = 3600
    n = portal["events"]
    assert f"verifies: {n} events" in _page(client, portal["release"])
    _drop_triggers(app)
    _sql(app, "DELETE FROM audit_event WHERE id > :keep", params={"keep": n - 3})
    assert f"the witness records {n} events; the database holds {n - 3}" in _page(client, portal["release"])


def test_a_forged_checkpoint_in_the_database_is_found(app, portal):
    _drop_triggers(app)
    n = _append(app, portal["events"], "1")
    with app.app_context():
        head = db.session.get(AuditEvent, n)
        db.session.add(AuditCheckpoint(length=n, head_hash=head.hash, reason="interval", signer=audit_keys().signer,
                                       signed_at=head.occurred_at, signature="ab" * 64))
        db.session.commit()
    code, output = _verify(app)
    assert code == 1 and f"the database's checkpoint of {n} events has a bad signature" in output


def test_a_witness_line_not_signed_by_the_portal_is_found(app, client, portal):
    line = {"length": portal["events"] + 50, "head_hash": "f" * 64, "reason": "interval",
            "signed_at": "2026-12-01T00:00:00+00:00", "signer": "0" * 16, "signature": "00" * 64}
    witness.append(portal["witness"], [line])
    code, output = _verify(app)
    assert code == 1 and "not a checkpoint the portal signed" in output
    assert "not a checkpoint the portal signed" in _page(client, portal["release"])


# --- Decision packs ---------------------------------------------------------------------------------------------

def test_verify_against_a_pack_finds_a_cut_the_host_covered_up(app, client, portal, tmp_path):
    """With the witness gone too, the exported pack's signed checkpoint still shows the events removed since."""
    response = client.get(f"/releases/{portal['release'].code}/pack.json")
    pack = json.loads(response.get_data(as_text=True))
    n = portal["events"]
    assert pack["audit_chain"]["checkpoint"]["length"] == n
    keys = audit_keys_of(app)
    assert pack["audit_chain"]["checkpoint"]["public_key"] == keys.public_key(keys.signer)
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(pack))
    assert _verify(app, "--pack", str(path))[0] == 0

    _drop_triggers(app)
    os.unlink(portal["witness"])
    _sql(app, "DELETE FROM audit_checkpoint", "DELETE FROM audit_event WHERE id > 10")
    assert _verify(app)[0] == 0  # nothing left to compare with
    code, output = _verify(app, "--pack", str(path))
    assert code == 1
    assert f"BROKEN at event 11: the pack's signed checkpoint records {n} events; the database holds 10" in output


def test_verify_refuses_a_pack_with_a_forged_checkpoint_or_no_chain(app, client, portal, tmp_path):
    pack = json.loads(client.get(f"/releases/{portal['release'].code}/pack.json").get_data(as_text=True))
    pack["audit_chain"]["checkpoint"]["length"] += 10
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(pack))
    code, output = _verify(app, "--pack", str(path))
    assert code == 1 and "the pack's checkpoint has a bad signature" in output
    path.write_text(json.dumps({"format": "something else"}))
    code, output = _verify(app, "--pack", str(path))
    assert code != 0 and "is not a decision pack" in output


def audit_keys_of(app):
    with app.app_context():
        return audit_keys()


# --- Keys -------------------------------------------------------------------------------------------------------

ROTATED = "a-newer-audit-key-for-rotation-tests-0000"


@pytest.fixture
def portal_with(app_config):
    """portal_with(**settings): another portal on this test's database and witness, with other settings."""
    built = []

    def build(**settings):
        built.append(create_app(type("Other", (TestConfig,), app_config | settings)))
        return built[-1]

    yield build
    for other in built:
        with other.app_context():
            db.engine.dispose()


def test_events_linked_under_a_retired_key_verify_while_it_is_configured(app, portal_with, make_user):
    user = make_user(Role.DCC)
    with app.app_context():
        record_event(db.session.get(User, user.id), "test.step", "Under the first key")
        db.session.commit()
    rotated = portal_with(AUDIT_KEY=ROTATED, AUDIT_KEY_ID="2",
                           AUDIT_KEYS=json.dumps({"1": TestConfig.AUDIT_KEY}))
    with rotated.app_context():
        record_event(None, "test.step", "Under the new key")
        db.session.commit()
        assert set(db.session.scalars(sa.select(AuditEvent.key_id))) == {"1", "2"}
    code, output = _verify(rotated)
    assert code == 0, output

    code, output = _verify(portal_with(AUDIT_KEY=ROTATED, AUDIT_KEY_ID="2"))
    assert code == 1
    assert "BROKEN at event 1: it is linked under audit key id '1', which is not configured (AUDIT_KEYS)" in output


def test_checkpoints_signed_with_a_retired_signing_key_verify_when_its_public_key_is_configured(app, portal,
                                                                                                 portal_with):
    keys = audit_keys_of(app)
    old_public = keys.public_key(keys.signer)
    code, output = _verify(portal_with(AUDIT_SIGNING_KEY="11" * 32))
    assert code == 1 and "line 1 of the witness" in output
    code, output = _verify(portal_with(AUDIT_SIGNING_KEY="11" * 32, AUDIT_SIGNING_OLD_PUBLIC_KEYS=old_public))
    assert code == 0, output


def _production(tmp_path, db_url, **settings):
    return type("Production", (Config,), {
        "SECRET_KEY": "production-test", "SQLALCHEMY_DATABASE_URI": db_url, "UPLOAD_FOLDER": str(tmp_path),
        "AUDIT_KEY": None, "AUDIT_KEY_FILE": None, "AUDIT_KEYS": "", "AUDIT_KEYS_FILE": None,
        "AUDIT_SIGNING_KEY": None, "AUDIT_SIGNING_KEY_FILE": None,
        "AUDIT_WITNESS_PATH": str(tmp_path / "witness.jsonl"), **settings})


def test_production_refuses_to_start_without_its_audit_keys(tmp_path, db_url):
    with pytest.raises(RuntimeError, match=r"AUDIT_KEY \(or AUDIT_KEY_FILE\) must be set"):
        create_app(_production(tmp_path, db_url, AUDIT_SIGNING_KEY="22" * 32))
    with pytest.raises(RuntimeError, match=r"AUDIT_SIGNING_KEY \(or AUDIT_SIGNING_KEY_FILE\) must be set"):
        create_app(_production(tmp_path, db_url, AUDIT_KEY=ROTATED))
    with pytest.raises(RuntimeError, match="shorter than 32"):
        create_app(_production(tmp_path, db_url, AUDIT_KEY="short", AUDIT_SIGNING_KEY="22" * 32))
    with pytest.raises(RuntimeError, match="another key under the current AUDIT_KEY_ID"):
        create_app(_production(tmp_path, db_url, AUDIT_KEY=ROTATED, AUDIT_SIGNING_KEY="22" * 32,
                               AUDIT_KEYS=json.dumps({"1": TestConfig.AUDIT_KEY})))


def test_production_reads_its_keys_from_files(tmp_path, db_url):
    (tmp_path / "audit.key").write_text(ROTATED + "\n")
    (tmp_path / "signing.key").write_text("33" * 32 + "\n")
    app = create_app(_production(tmp_path, db_url, AUDIT_KEY_FILE=str(tmp_path / "audit.key"),
                                 AUDIT_SIGNING_KEY_FILE=str(tmp_path / "signing.key")))
    with app.app_context():
        assert audit_keys().hmac_keys == {"1": ROTATED.encode()}
        db.engine.dispose()
    with pytest.raises(RuntimeError, match="AUDIT_KEY_FILE .* cannot be read"):
        create_app(_production(tmp_path, db_url, AUDIT_KEY_FILE=str(tmp_path / "missing.key"),
                               AUDIT_SIGNING_KEY="22" * 32))


# --- The witness ------------------------------------------------------------------------------------------------

def test_the_witness_is_fsynced_append_only_json_lines(app, monkeypatch):
    opens, open_now, synced = [], {}, []
    real_open, real_fsync = os.open, os.fsync

    def spy_open(path, flags, *args):
        fd = real_open(path, flags, *args)
        opens.append((str(path), flags))
        open_now[fd] = str(path)
        return fd

    def spy_fsync(fd):
        synced.append(open_now.get(fd))
        real_fsync(fd)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "fsync", spy_fsync)
    path = app.config["AUDIT_WITNESS_PATH"]
    with app.app_context():
        for n in range(2 * EVERY):
            record_event(None, "test.step", f"Step {n}")
            db.session.commit()
    writes = [flags for p, flags in opens if p == path]
    assert writes and all(flags & os.O_APPEND and flags & os.O_WRONLY and not flags & os.O_TRUNC for flags in writes)
    assert synced.count(path) == len(writes) == 3  # the first event, then every EVERY events: one fsync each
    with open(path) as fh:
        lines = [json.loads(line) for line in fh]
    assert [line["length"] for line in lines] == [1, EVERY, 2 * EVERY]
    assert [line["reason"] for line in lines] == ["start", "interval", "interval"]
    with app.app_context():
        assert all(signed_by_portal(line) for line in lines)
        assert [c.record() for c in db.session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id))] \
            == lines


def test_a_decision_is_checkpointed_at_once(app):
    with app.app_context():
        record_event(None, "test.step", "Before")
        event = record_event(None, "decision.recorded", "Panel decision: Go")
        head = event.id, event.hash
        db.session.commit()
    record = witness.last(app.config["AUDIT_WITNESS_PATH"])
    assert (record["length"], record["head_hash"], record["reason"]) == (*head, "decision")


def test_a_rolled_back_transaction_or_savepoint_leaves_no_witness_line(app):
    path = app.config["AUDIT_WITNESS_PATH"]
    with app.app_context():
        record_event(None, "test.step", "Committed")
        db.session.commit()
        record_event(None, "decision.recorded", "Rolled back")
        db.session.rollback()
        with pytest.raises(ZeroDivisionError):
            with db.session.begin_nested():
                record_event(None, "decision.recorded", "In a savepoint rolled back")
                1 / 0
        record_event(None, "test.step", "Kept beside the savepoint")
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditCheckpoint)) == 1
    assert [r["length"] for _, r in witness.records(path)] == [1]
    assert _verify(app)[0] == 0


def test_a_failed_witness_write_keeps_the_commit_and_is_noted(app, tmp_path):
    app.config["AUDIT_WITNESS_PATH"] = str(tmp_path)  # a folder: the append fails
    with app.app_context():
        record_event(None, "test.step", "Committed all the same")
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 1
    app.config["AUDIT_WITNESS_PATH"] = str(tmp_path / "audit-witness.jsonl")
    code, output = _verify(app)
    assert code == 0 and "lacks 1 of the database's signed checkpoints" in output


def test_the_page_reads_only_the_witness_tail(app, portal, monkeypatch):
    """A long witness costs the pages nothing: chain_status reads its last line only."""
    with open(portal["witness"], "ab") as fh:
        fh.write(b'{"partial line being written"')  # no newline yet: ignored
    monkeypatch.setattr(witness, "records", lambda path: pytest.fail("the pages must not read the whole witness"))
    with app.app_context():
        status = chain_status()
    assert status.ok and status.witnessed == portal["events"]
