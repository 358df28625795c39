"""The scheduled jobs run on every host at once: two of each together send each email once, each reminder once,
make one backup while the other says it is skipped, and keep the audit chain one line with one head.

Two threads, each with its own app context (its own session and connection), stand for two hosts sharing the
database: PostgreSQL when TEST_DATABASE_URL is set, otherwise one SQLite file.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal.audit.models import AuditCheckpoint, AuditEvent
from portal.audit.services import record_event, sign_checkpoint_now, verify_audit
from portal.extensions import db
from portal.notifications.delivery import deliver_outbox
from portal.notifications.models import Notification, OutboxMessage, OutboxStatus, Reminder
from portal.notifications.reminders import send_reminders, send_vote_reminders
from portal.ops import backup as backup_module
from portal.releases.models import Stage
from tests.test_notifications_delivery import Inbox, _free_port

ROOT = Path(__file__).resolve().parent.parent


def _on_two_hosts(app, job, count: int = 2) -> list:
    """Run `job()` in `count` threads started together, each in its own app context; their results in order."""
    start = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def host(index: int) -> None:
        try:
            with app.app_context():
                start.wait(timeout=30)
                results[index] = job()
                db.session.remove()
        except BaseException as err:  # noqa: BLE001 - reported by the test below
            errors.append(err)

    threads = [threading.Thread(target=host, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    return results


class SlowInbox(Inbox):
    """Takes a moment over each message, so that two workers' runs overlap."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


def test_two_mail_workers_send_each_email_once(app):
    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="portal@example.org")
        with app.app_context():
            db.session.add_all(OutboxMessage(to=f"member{n}@example.org", subject=f"Message {n}", body="Hello")
                               for n in range(40))
            db.session.commit()
        reports = _on_two_hosts(app, deliver_outbox)
    finally:
        controller.stop()
    subjects = Counter(envelope.content.decode().split("Subject: ", 1)[1].split("\r\n", 1)[0]
                       for envelope in inbox.messages)
    assert len(inbox.messages) == 40
    assert sorted(subjects) == sorted(f"Message {n}" for n in range(40)) and set(subjects.values()) == {1}
    assert sum(report.sent for report in reports) == 40
    with app.app_context():
        rows = db.session.execute(sa.select(OutboxMessage.status, OutboxMessage.attempts)).all()
        assert rows and all(status == OutboxStatus.SENT and attempts == 1 for status, attempts in rows)


def test_two_reminder_runs_remind_once(app, users, make_release):
    make_release(Stage.DRAFT)
    app.config["PORTAL_TODAY"] = "2021-06-01"  # every step of the February 2021 release is overdue

    def run():
        sent = send_reminders(None) + send_vote_reminders(None)
        db.session.commit()
        return sent

    first, second = _on_two_hosts(app, run)
    with app.app_context():
        reminders = db.session.scalar(sa.select(sa.func.count()).select_from(Reminder))
        notes = db.session.execute(sa.select(Notification.user_id, Notification.subject)).all()
        mail = db.session.execute(sa.select(OutboxMessage.to, OutboxMessage.subject)).all()
        events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "reminder.sent"))
    assert reminders > 1 and len(first) + len(second) == reminders == events
    assert notes and len(notes) == len(set(notes))
    assert mail and len(mail) == len(set(mail))
    with app.app_context():
        assert send_reminders(None) == []  # and a later run has nothing left to send


def test_one_backup_at_a_time(app, users, tmp_path, monkeypatch):
    copying, finish = threading.Event(), threading.Event()
    copy_evidence = backup_module._copy_evidence

    def slow_copy(upload_folder, out):
        copying.set()
        assert finish.wait(timeout=60)
        return copy_evidence(upload_folder, out)

    monkeypatch.setattr(backup_module, "_copy_evidence", slow_copy)
    runner = app.test_cli_runner()
    outcome = {}
    first = threading.Thread(target=lambda: outcome.update(
        first=runner.invoke(args=["portal", "backup", str(tmp_path / "first")])))
    first.start()
    try:
        assert copying.wait(timeout=60)
        second = runner.invoke(args=["portal", "backup", str(tmp_path / "second")])
    finally:
        finish.set()
        first.join(timeout=120)
    assert second.exit_code == 0, second.output
    assert "Backup skipped: Another backup of this database is running" in second.output
    assert not (tmp_path / "second").exists()  # nothing written by the skipped one
    assert outcome["first"].exit_code == 0 and "Backup written to" in outcome["first"].output
    manifest = json.loads((tmp_path / "first" / "manifest.json").read_text())
    assert manifest["row_counts"]["user"] == len(users)
    # The lock went with the first backup: the next one runs.
    monkeypatch.setattr(backup_module, "_copy_evidence", copy_evidence)
    third = runner.invoke(args=["portal", "backup", str(tmp_path / "third")])
    assert third.exit_code == 0 and "Backup written to" in third.output


def _record(n: int) -> None:
    for i in range(n):
        record_event(None, "test.event", f"Event {i}")
        db.session.commit()


def test_two_checkpoint_signers_sign_the_head_once(app):
    app.config["AUDIT_CHECKPOINT_EVERY"] = 0
    with app.app_context():
        _record(5)
        starts = db.session.scalar(sa.select(sa.func.count()).select_from(AuditCheckpoint))

    def sign():
        checkpoint = sign_checkpoint_now()
        db.session.commit()
        return checkpoint is not None

    assert sorted(_on_two_hosts(app, sign)) == [False, True]
    with app.app_context():
        checkpoints = db.session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.length)).all()
        assert len(checkpoints) == starts + 1 and checkpoints[-1].length == 5
        assert checkpoints[-1].reason == "scheduled"
        assert verify_audit().ok
    witness = (app.config["AUDIT_WITNESS_PATH"])
    assert [json.loads(line)["length"] for line in open(witness)] == [c.length for c in checkpoints]
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0 and "already signed" in result.output


def test_writers_signers_and_verifiers_on_two_hosts_keep_one_chain(app):
    with app.app_context():
        _record(1)

    def host():
        verified = []
        for _ in range(10):
            _record(2)
            sign_checkpoint_now()
            db.session.commit()
            verified.append(verify_audit().ok)
        return verified

    results = _on_two_hosts(app, host)
    assert all(all(verified) for verified in results)
    with app.app_context():
        chain = db.session.execute(sa.select(AuditEvent.id, AuditEvent.prev_hash, AuditEvent.hash)
                                   .order_by(AuditEvent.id)).all()
        assert [row.id for row in chain] == list(range(1, 42))  # no gap
        assert all(later.prev_hash == earlier.hash for earlier, later in zip(chain, chain[1:]))  # no fork
        heads = {row.hash for row in chain} - {row.prev_hash for row in chain}
        assert len(heads) == 1
        lengths = db.session.scalars(sa.select(AuditCheckpoint.length)).all()
        assert len(lengths) == len(set(lengths))
        report = verify_audit()
        assert report.ok and report.checked == 41 and not report.notes
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "Audit chain verified: 41 events" in result.output


# --- The same with real processes: `flask` commands as cron would start them on two hosts --------------------

def _flask(app, *args: str, **env: str) -> subprocess.Popen:
    environment = dict(os.environ, PORTAL_CONFIG="test", TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                       UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"], **env)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_deliver_mail_processes_send_each_email_once(app):
    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        with app.app_context():
            db.session.add_all(OutboxMessage(to=f"member{n}@example.org", subject=f"Message {n}", body="Hello")
                               for n in range(60))
            db.session.commit()
        hosts = [_flask(app, "portal", "deliver-mail", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(controller.port))
                 for _ in range(2)]
        outputs = [host.communicate(timeout=120) for host in hosts]
    finally:
        controller.stop()
    assert [host.returncode for host in hosts] == [0, 0], outputs
    sent = [int(out.split("Outbox: ", 1)[1].split(" sent", 1)[0]) for out, _ in outputs]
    assert sum(sent) == 60
    assert len(inbox.messages) == 60
    with app.app_context():
        assert set(db.session.scalars(sa.select(OutboxMessage.status))) == {OutboxStatus.SENT}


def test_a_backup_process_is_skipped_while_another_holds_the_lock(app, users, tmp_path):
    with app.app_context(), backup_module.backup_lock():
        host = _flask(app, "portal", "backup", str(tmp_path / "second"))
        out, err = host.communicate(timeout=120)
    assert host.returncode == 0, err
    assert "Backup skipped: Another backup of this database is running" in out
    assert not (tmp_path / "second").exists()
    host = _flask(app, "portal", "backup", str(tmp_path / "third"))
    out, err = host.communicate(timeout=120)
    assert host.returncode == 0 and "Backup written to" in out, err
