"""Sending the email outbox by SMTP, after the commit that queued it, with retries and backoff.

This is the one place outside a view that commits: a message is claimed, sent and marked in its own
short transactions, so a slow or refusing mail server never holds up or breaks a request's change.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

import sqlalchemy as sa
from flask import Flask, current_app

from ..extensions import db
from ..timeutil import utcnow
from .models import OutboxMessage, OutboxStatus

log = logging.getLogger("portal.mail")

# While one worker sends a message, others leave it alone for this long.
CLAIM_SECONDS = 300
MAX_BACKOFF = dt.timedelta(hours=6)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    kept: int = 0  # no mail server configured: left in the outbox


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8... minutes after each failed attempt, at most six hours."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claim_next(now: dt.datetime) -> OutboxMessage | None:
    """Take the oldest due message for this worker, in its own short transaction, or None when none is left.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so workers on several hosts each take a different row without waiting
    for one another. SQLite: its one writer serialises the workers. Either way the claim is a conditional UPDATE
    that moves the message's next attempt past the claim period, so it is sent once (its rowcount says who won).
    """
    due = (sa.select(OutboxMessage.id, OutboxMessage.attempts)
           .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now)
           .order_by(OutboxMessage.id).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    try:
        while (row := db.session.execute(due).first()) is not None:
            message_id, attempts = row
            claimed = db.session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.QUEUED,
                       OutboxMessage.attempts == attempts)
                .values(attempts=attempts + 1, next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS))
                .execution_options(synchronize_session=False)
            ).rowcount == 1
            if claimed:
                db.session.commit()
                return db.session.get(OutboxMessage, message_id, populate_existing=True)
            db.session.rollback()  # another worker took it between our read and our update: the next one
        db.session.commit()
        return None
    except BaseException:
        db.session.rollback()
        raise


def _connect(config) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config.get("MAIL_TIMEOUT", 10))
    if config.get("MAIL_USE_TLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    return smtp


def _email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = f"<outbox-{message.id}-{message.created_at:%Y%m%d%H%M%S}@sec-release-portal>"
    email.set_content(message.body)
    return email


def deliver_outbox(now: dt.datetime | None = None, limit: int = 200) -> DeliveryReport:
    """Send the queued messages that are due; record each failure and when to try again."""
    config = current_app.config
    now = now or utcnow()
    report = DeliveryReport()
    if not config.get("MAIL_SERVER"):
        report.kept = db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now))
        if report.kept:
            log.info("no MAIL_SERVER set: messages kept in the outbox", extra={"count": report.kept})
        return report
    max_attempts = config.get("MAIL_MAX_ATTEMPTS", 10)
    smtp = None
    try:
        # A claimed message is due again only after the claim period and a failed one after its backoff, both
        # later than `now`: each message is taken at most once per run, and the loop ends.
        for _ in range(limit):
            message = _claim_next(now)
            if message is None:
                break
            try:
                smtp = smtp or _connect(config)
            except (smtplib.SMTPException, OSError) as err:
                # The server cannot be reached: leave the rest of the queue for the next run.
                _record_failure(message, err, now, max_attempts, report)
                db.session.commit()
                break
            try:
                smtp.send_message(_email(message, config["MAIL_FROM"]))
            except (smtplib.SMTPException, OSError) as err:
                smtp = _close(smtp)  # start the next message on a fresh connection
                _record_failure(message, err, now, max_attempts, report)
            else:
                message.status, message.sent_at, message.last_error = OutboxStatus.SENT, utcnow(), ""
                report.sent += 1
            db.session.commit()
    finally:
        _close(smtp)
    return report


def _record_failure(message: OutboxMessage, err: Exception, now: dt.datetime, max_attempts: int,
                    report: DeliveryReport) -> None:
    message.last_error = f"{type(err).__name__}: {err}"[:2000]
    if message.attempts >= max_attempts:
        message.status = OutboxStatus.FAILED
        report.failed += 1
    else:
        message.next_attempt_at = now + backoff(message.attempts)
        report.retrying += 1
    log.warning("email not sent", extra={"outbox_id": message.id, "attempts": message.attempts,
                                         "reason": message.last_error})


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
    return None


def deliver_after_request(app: Flask) -> None:
    """The opportunistic attempt after a request has committed; it can only log, never fail the request."""
    try:
        with app.app_context():
            deliver_outbox()
            db.session.remove()
    except Exception:  # noqa: BLE001 - the cron run will pick the messages up
        log.exception("opportunistic email delivery failed; the outbox keeps the messages")
