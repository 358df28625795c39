"""Each state-changing service of the record (notifications, calendar, reminders, pack import) writes one event."""
import sqlalchemy as sa

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.calendar.services import create_calendar_link, revoke_calendar_link
from portal.extensions import db
from portal.notifications.reminders import send_reminders
from portal.notifications.services import mark_notifications_read, notify, set_notification_preferences
from portal.pack.export import build_pack
from portal.pack.services import import_pack
from portal.releases.models import Release, Stage


def _events_during(action):
    before = db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0
    action()
    db.session.flush()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)).all()


def test_each_service_writes_one_matching_event(app, users, make_release):
    make_release(Stage.EVIDENCE)
    with app.app_context():
        panel = db.session.get(User, users["panel"].id)
        notify("vote_opened", [Role.PANEL], "Vote open", "Cast your vote.")
        assert _events_during(lambda: None) == []  # notify itself belongs to its caller's event
        cases = [
            (lambda: mark_notifications_read(panel), "notifications.read"),
            (lambda: set_notification_preferences(panel, {"vote_opened": "portal"}), "notifications.preferences_changed"),
            (lambda: create_calendar_link(panel), "calendar.link_created"),
            (lambda: revoke_calendar_link(panel), "calendar.link_revoked"),
        ]
        for action, kind in cases:
            events = _events_during(action)
            assert [e.action for e in events] == [kind]
            assert events[0].actor_id == panel.id
        # Nothing to change, nothing written.
        assert _events_during(lambda: mark_notifications_read(panel)) == []
        assert _events_during(lambda: set_notification_preferences(panel, {"vote_opened": "portal"})) == []
        assert _events_during(lambda: revoke_calendar_link(panel)) == []
        app.config["PORTAL_TODAY"] = "2021-01-21"
        events = _events_during(lambda: send_reminders(None))
        assert [e.action for e in events] == ["reminder.sent"]
        db.session.commit()


def test_import_writes_one_event(app, users, make_release):
    make_release()
    with app.app_context():
        pack = build_pack(db.session.scalar(sa.select(Release)))
        pack["release"]["code"] = "feb-2021-copy"
        events = _events_during(lambda: import_pack(None, pack))
        assert [e.action for e in events] == ["release.imported"]
        assert events[0].release_id == db.session.scalar(sa.select(Release.id).where(Release.code == "feb-2021-copy"))
