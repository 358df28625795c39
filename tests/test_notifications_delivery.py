"""Notifications and email: the outbox, a real SMTP server on localhost (aiosmtpd), refusals and retries."""
import datetime as dt
import socket

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal.access import Role, public
from portal.extensions import db
from portal.notifications.delivery import deliver_outbox
from portal.notifications.models import Notification, NotificationPreference, OutboxMessage, OutboxStatus, Channel
from portal.notifications.services import notify
from portal.timeutil import utcnow


class Inbox:
    """An SMTP handler that keeps what it receives, or refuses with `refuse` (e.g. '550 ...')."""

    def __init__(self):
        self.messages = []
        self.refuse = None

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="portal@example.org")
    yield inbox
    controller.stop()


def _notify(app, kind="vote_opened", roles=(Role.PANEL,), **kw):
    with app.app_context():
        notify(kind, roles, "February 2021: the vote is open", "Cast your vote.", url="/releases/feb-2021", **kw)
        db.session.commit()


def _outbox(app):
    with app.app_context():
        return db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_notify_reaches_every_active_user_of_the_roles(app, make_user):
    member = make_user(Role.PANEL)
    chair = make_user(Role.PANEL, chair=True)
    make_user(Role.PANEL, active=False)
    make_user(Role.DCC)
    _notify(app)
    with app.app_context():
        notes = db.session.scalars(sa.select(Notification)).all()
        assert sorted(n.user_id for n in notes) == [member.id, chair.id]
        assert all(n.kind == "vote_opened" and n.url == "/releases/feb-2021" for n in notes)
    assert sorted(m.to for m in _outbox(app)) == sorted([member.email, chair.email])
    assert all(m.status == OutboxStatus.QUEUED for m in _outbox(app))


def test_portal_only_users_get_no_email(app, make_user):
    member = make_user(Role.PANEL)
    other = make_user(Role.PANEL)
    with app.app_context():
        db.session.add(NotificationPreference(user_id=member.id, kind="vote_opened", channel=Channel.PORTAL))
        db.session.commit()
    _notify(app)
    assert [m.to for m in _outbox(app)] == [other.email]
    _notify(app, kind="decision_made")  # the choice is per kind
    assert sorted(m.to for m in _outbox(app)[1:]) == sorted([member.email, other.email])


def test_notify_belongs_to_the_callers_transaction(app, make_user):
    make_user(Role.PANEL)
    with app.app_context():
        notify("vote_opened", [Role.PANEL], "Vote open", "Body")
        db.session.rollback()  # the service that called notify was refused
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    assert _outbox(app) == []


def test_without_a_mail_server_messages_stay_in_the_outbox(app, make_user, client, caplog):
    make_user(Role.PANEL)
    _notify(app)
    with app.app_context():
        report = deliver_outbox()
    assert report.kept == 1 and report.sent == 0
    assert _outbox(app)[0].status == OutboxStatus.QUEUED
    assert "kept in the outbox" in caplog.text
    result = app.test_cli_runner().invoke(args=["portal", "deliver-mail"])
    assert result.exit_code == 0 and "1 kept" in result.output


def test_admins_read_the_outbox_in_the_portal(app, make_user, client, users):
    _notify(app)
    client.login(users["secas"])
    page = client.get("/admin/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "February 2021: the vote is open" in html and users["panel"].email in html
    assert "Cast your vote." in html
    assert "No mail server is set" in html
    client.logout()
    client.login(users["panel"])
    assert client.get("/admin/outbox").status_code == 403


def test_delivery_through_smtp(app, make_user, smtp):
    member = make_user(Role.PANEL)
    app.config["PORTAL_URL"] = "https://portal.example.org"
    _notify(app)
    with app.app_context():
        report = deliver_outbox()
    assert report.sent == 1
    assert len(smtp.messages) == 1
    envelope = smtp.messages[0]
    assert envelope.rcpt_tos == [member.email]
    assert envelope.mail_from == "portal@example.org"
    text = envelope.content.decode()
    assert "Subject: February 2021: the vote is open" in text
    assert "Cast your vote." in text and "https://portal.example.org/releases/feb-2021" in text
    message = _outbox(app)[0]
    assert message.status == OutboxStatus.SENT and message.sent_at and message.attempts == 1
    with app.app_context():  # sent messages are not sent again
        assert deliver_outbox().sent == 0
    assert len(smtp.messages) == 1


def test_a_refusing_server_keeps_the_message_and_a_retry_succeeds(app, make_user, smtp):
    make_user(Role.PANEL)
    _notify(app)
    smtp.refuse = "550 Mailbox unavailable"
    with app.app_context():
        report = deliver_outbox()
    assert report.sent == 0 and report.retrying == 1
    message = _outbox(app)[0]
    assert message.status == OutboxStatus.QUEUED
    assert message.attempts == 1
    assert "550" in message.last_error and "Mailbox unavailable" in message.last_error
    assert message.next_attempt_at is not None
    # Before the backoff has passed nothing is retried.
    smtp.refuse = None
    with app.app_context():
        assert deliver_outbox().sent == 0
    assert smtp.messages == []
    # After it, the retry goes through.
    with app.app_context():
        report = deliver_outbox(now=utcnow() + dt.timedelta(minutes=2))
    assert report.sent == 1 and len(smtp.messages) == 1
    message = _outbox(app)[0]
    assert message.status == OutboxStatus.SENT and message.attempts == 2 and message.last_error == ""


def test_an_unreachable_server_keeps_every_message(app, make_user):
    make_user(Role.PANEL)
    make_user(Role.PANEL)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port())  # nothing listens there
    _notify(app)
    with app.app_context():
        report = deliver_outbox()
    assert report.sent == 0
    messages = _outbox(app)
    assert all(m.status == OutboxStatus.QUEUED for m in messages)
    assert "ConnectionRefusedError" in messages[0].last_error
    assert messages[1].attempts == 0  # the run stopped at the first connection failure


def test_a_message_is_given_up_after_the_last_attempt_but_kept(app, make_user, smtp):
    make_user(Role.PANEL)
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    smtp.refuse = "554 Transaction failed"
    _notify(app)
    with app.app_context():
        deliver_outbox()
        report = deliver_outbox(now=utcnow() + dt.timedelta(hours=1))
    assert report.failed == 1
    message = _outbox(app)[0]
    assert message.status == OutboxStatus.FAILED and message.attempts == 2 and "554" in message.last_error


def _add_notifying_route(app):
    @app.post("/test-notify")
    @public
    def test_notify():
        notify("vote_opened", [Role.PANEL], "Vote open", "Cast your vote.")
        db.session.commit()
        return "done"


def test_mail_is_sent_after_the_request_commits(app, make_user, smtp):
    _add_notifying_route(app)
    make_user(Role.PANEL)
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/test-notify")
    assert response.status_code == 200
    response.close()  # the server closes the response once it is sent; delivery runs then
    assert len(smtp.messages) == 1
    assert _outbox(app)[0].status == OutboxStatus.SENT


def test_a_broken_mail_server_never_breaks_the_request(app, make_user):
    _add_notifying_route(app)
    make_user(Role.PANEL)
    app.config.update(WTF_CSRF_ENABLED=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port())
    response = app.test_client().post("/test-notify")
    assert response.status_code == 200 and response.get_data(as_text=True) == "done"
    response.close()
    message = _outbox(app)[0]
    assert message.status == OutboxStatus.QUEUED and message.last_error
