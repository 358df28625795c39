"""`flask portal send-reminders`: the acting role is reminded of deadlines and of overdue steps, once each."""
import sqlalchemy as sa

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.notifications.models import Notification, OutboxMessage, Reminder
from portal.releases.models import Stage


def _run(app, on: str):
    app.config["PORTAL_TODAY"] = on
    result = app.test_cli_runner().invoke(args=["portal", "send-reminders"])
    assert result.exit_code == 0, result.output
    return result.output


def _notes(app):
    with app.app_context():
        return db.session.execute(sa.select(Notification.user_id, Notification.kind, Notification.subject)
                                  .order_by(Notification.id)).all()


def test_deadline_reminder_three_working_days_before(app, users, make_release):
    make_release(Stage.EVIDENCE)
    # Thursday 21 January 2021: evidence is due Tuesday 26th, 3 Working Days away over a weekend.
    output = _run(app, "2021-01-21")
    assert "Reminders sent: 1." in output
    notes = _notes(app)
    assert [(uid, kind) for uid, kind, _ in notes] == [(users["dcc"].id, "submission_due")]
    assert "DCC submits evidence" in notes[0][2] and "due in 3 Working Days" in notes[0][2]
    with app.app_context():
        assert db.session.scalars(sa.select(OutboxMessage.to)).all() == [users["dcc"].email]
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert event.action == "reminder.sent" and event.actor_name == "System"


def test_each_reminder_is_sent_once(app, users, make_release):
    make_release(Stage.EVIDENCE)
    _run(app, "2021-01-21")
    assert "Reminders sent: 0." in _run(app, "2021-01-21")
    assert "Reminders sent: 0." in _run(app, "2021-01-22")  # still within the window: not again
    assert len(_notes(app)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 1


def test_not_yet_in_the_window(app, users, make_release):
    make_release(Stage.EVIDENCE)
    assert "Reminders sent: 0." in _run(app, "2021-01-20")  # 4 Working Days before


def test_the_window_is_a_setting(app, users, make_release):
    make_release(Stage.EVIDENCE)
    app.config["REMINDER_WORKING_DAYS"] = 5
    assert "Reminders sent: 1." in _run(app, "2021-01-19")


def test_overdue_step_reminder(app, users, make_release):
    make_release(Stage.EVIDENCE)
    _run(app, "2021-01-21")
    # Wednesday 27 January: the evidence step is a Working Day overdue, and the release is still gathering it.
    output = _run(app, "2021-01-27")
    assert "(overdue)" in output
    subjects = [subject for _, _, subject in _notes(app)]
    assert "1 Working Day overdue" in subjects[-1]
    _run(app, "2021-01-28")
    _run(app, "2021-01-29")
    overdue = [s for s in (subject for _, _, subject in _notes(app)) if "overdue" in s]
    assert len(overdue) == 1


def test_done_steps_are_not_overdue(app, users, make_release):
    make_release(Stage.OPSG_REVIEW)  # evidence is in: its deadline passing is no longer a reminder
    _run(app, "2021-01-27")
    assert all("DCC submits evidence" not in subject for _, _, subject in _notes(app))
    # OpsG's review on Tuesday 2 February is 4 Working Days away on the 27th, 3 on the 28th.
    _run(app, "2021-01-28")
    notes = _notes(app)
    assert {uid for uid, _, _ in notes} == {users["opsg"].id, users["opsg_chair"].id}
    assert all("Operations Group reviews" in s and "due in 3 Working Days" in s for _, _, s in notes)


def test_live_releases_get_no_reminders(app, users, make_release):
    make_release(Stage.LIVE)
    assert "Reminders sent: 0." in _run(app, "2021-03-30")


def test_inactive_users_are_not_reminded(app, users, make_user, make_release):
    make_release(Stage.EVIDENCE)
    make_user(Role.DCC, active=False)
    _run(app, "2021-01-21")
    assert len(_notes(app)) == 1
