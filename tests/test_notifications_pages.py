"""Each person's notifications (with a count in the header) and their email-or-portal settings."""
import re

import sqlalchemy as sa

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.notifications.models import KINDS, Notification, NotificationPreference, OutboxMessage
from portal.notifications.services import notify


def _notify(app, roles=(Role.PANEL,), kind="vote_opened", subject="February 2021: the vote is open"):
    with app.app_context():
        notify(kind, roles, subject, "Cast your vote.", url="/releases/feb-2021")
        db.session.commit()


def test_a_user_sees_their_notifications_and_the_count(client, users):
    _notify(client.app)
    _notify(client.app, roles=[Role.DCC], subject="Evidence requested on criterion 3")
    client.login(users["panel"])
    html = client.get("/tasks").get_data(as_text=True)
    assert "Notifications (1 new)" in html
    html = client.get("/notifications").get_data(as_text=True)
    assert "February 2021: the vote is open" in html and 'href="/releases/feb-2021"' in html
    assert "Evidence requested on criterion 3" not in html


def test_mark_all_read_with_htmx_returns_the_list(client, users):
    _notify(client.app)
    client.login(users["panel"])
    response = client.post_form("/notifications/read", htmx=True)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="notification-list">') and "<html" not in text
    assert "New</strong>" not in text
    # The header's count, outside the fragment, is swapped out of band.
    assert '<span id="portal-notification-link" hx-swap-oob="true">Notifications</span>' in text
    assert "Notifications (1 new)" not in client.get("/tasks").get_data(as_text=True)
    with client.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                 .where(Notification.read_at.is_(None), Notification.user_id == users["panel"].id)) == 0


def test_mark_all_read_without_javascript_redirects(client, users):
    _notify(client.app)
    client.login(users["panel_chair"])
    response = client.post_form("/notifications/read")
    assert response.status_code == 303
    with client.app.app_context():  # only this user's notifications changed
        unread = db.session.scalars(sa.select(Notification.user_id).where(Notification.read_at.is_(None))).all()
        assert unread == [users["panel"].id]


def test_mark_read_without_a_csrf_token_is_refused(client, users):
    _notify(client.app)
    client.login(users["panel"])
    assert client.post_form("/notifications/read", token=False).status_code == 400


def test_anonymous_cannot_see_notifications(client):
    assert client.get("/notifications").status_code == 302
    assert client.get("/notifications/settings").status_code == 302


def test_choosing_portal_only_for_a_kind(client, users):
    client.login(users["panel"])
    page = client.get("/notifications/settings").get_data(as_text=True)
    for label in KINDS.values():
        assert label in page
    data = {kind: "email" for kind in KINDS} | {"vote_opened": "portal"}
    response = client.post_form("/notifications/settings", data)
    assert response.status_code == 303
    with client.app.app_context():
        prefs = db.session.scalars(sa.select(NotificationPreference)).all()
        assert [(p.user_id, p.kind, str(p.channel)) for p in prefs] == [(users["panel"].id, "vote_opened", "portal")]
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert event.action == "notifications.preferences_changed"
        assert event.details["after"] == {"vote_opened": "portal"}
    _notify(client.app)
    with client.app.app_context():
        assert db.session.scalars(sa.select(OutboxMessage.to)).all() == [users["panel_chair"].email]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 2  # still in the portal
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert re.search(r'name="vote_opened" type="radio" value="portal"\s+checked', page)
    assert re.search(r'name="decision_made" type="radio" value="email"\s+checked', page)


def test_invalid_settings_get_422_and_nothing_is_stored(client, users):
    client.login(users["panel"])
    data = {kind: "email" for kind in KINDS} | {"vote_opened": "carrier-pigeon"}
    response = client.post_form("/notifications/settings", data)
    assert response.status_code == 422
    assert "There is a problem" in response.get_data(as_text=True)
    data.pop("vote_opened")
    assert client.post_form("/notifications/settings", data).status_code == 422
    with client.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(NotificationPreference)) == 0
