"""The iCalendar feed of milestones through a private, revocable per-user link."""
import re

import sqlalchemy as sa

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.calendar import ical
from portal.calendar.models import CalendarToken
from portal.extensions import db

FEED_RE = re.compile(r"/calendar/([A-Za-z0-9_-]+)\.ics")


def _make_link(client) -> str:
    response = client.post_form("/calendar/link")
    assert response.status_code == 303
    page = client.get("/calendar").get_data(as_text=True)
    match = FEED_RE.search(page)
    assert match, page
    assert f"/calendar/{match.group(1)}/feb-2021.ics" in page or "feb-2021" not in page
    return match.group(1)


def _unfold(text: str) -> str:
    return text.replace("\r\n ", "")


def test_a_user_makes_a_link_and_subscribes(client, users, make_release):
    make_release()
    client.login(users["dcc"])
    token = _make_link(client)
    client.logout()
    response = client.get(f"/calendar/{token}.ics")  # no session: calendar apps cannot sign in
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert body.endswith("END:VCALENDAR\r\n")
    assert "\n" not in body.replace("\r\n", "")  # every line ends in CRLF
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    text = _unfold(body)
    assert text.count("BEGIN:VEVENT") == 5
    assert "DTSTART;VALUE=DATE:20210126\r\nDTEND;VALUE=DATE:20210127" in text
    assert "SUMMARY:February 2021 SEC Release: Panel go/no-go decision" in text
    assert "DTSTART;VALUE=DATE:20210225" in text


def test_the_token_is_shown_once_and_stored_hashed(client, users, make_release):
    make_release()
    client.login(users["opsg"])
    token = _make_link(client)
    assert token not in client.get("/calendar").get_data(as_text=True)  # not shown again
    with client.app.app_context():
        stored = db.session.scalars(sa.select(CalendarToken.token_hash)).all()
        assert len(stored) == 1 and token not in stored[0]
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("calendar.%"))).all()
        assert [e.action for e in events] == ["calendar.link_created"]
        assert token not in str(events[0].details)


def test_uids_are_stable_between_fetches(client, users, make_release):
    make_release()
    client.login(users["panel"])
    token = _make_link(client)
    uids = [re.findall(r"UID:(\S+)", client.get(f"/calendar/{token}.ics").get_data(as_text=True)) for _ in range(2)]
    assert uids[0] == uids[1] and len(set(uids[0])) == 5


def test_per_release_feed(client, users, make_release):
    release = make_release()
    client.login(users["secas"])
    token = _make_link(client)
    body = client.get(f"/calendar/{token}/{release.code}.ics").get_data(as_text=True)
    assert body.count("BEGIN:VEVENT") == 5
    assert "X-WR-CALNAME:SEC release: February 2021 SEC Release" in body
    assert client.get(f"/calendar/{token}/no-such-release.ics").status_code == 404


def test_revoked_and_unknown_links_get_404(client, users, make_release):
    make_release()
    client.login(users["dcc"])
    token = _make_link(client)
    assert client.post_form("/calendar/link/revoke").status_code == 303
    assert client.get(f"/calendar/{token}.ics").status_code == 404
    assert client.get("/calendar/not-a-real-token.ics").status_code == 404
    assert "You have no calendar link" in client.get("/calendar").get_data(as_text=True)


def test_a_new_link_replaces_the_old_one(client, users, make_release):
    make_release()
    client.login(users["dcc"])
    first = _make_link(client)
    second = _make_link(client)
    assert first != second
    assert client.get(f"/calendar/{first}.ics").status_code == 404
    assert client.get(f"/calendar/{second}.ics").status_code == 200
    with client.app.app_context():
        live = db.session.scalars(sa.select(CalendarToken).where(CalendarToken.revoked_at.is_(None))).all()
        assert len(live) == 1


def test_a_closed_account_s_link_stops_working(client, users, make_release, make_user):
    make_release()
    user = make_user(Role.DCC)
    client.login(user)
    token = _make_link(client)
    with client.app.app_context():
        db.session.execute(sa.text("UPDATE \"user\" SET active = false WHERE id = :id"), {"id": user.id})
        db.session.commit()
    assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_creating_a_link_needs_sign_in_and_csrf(client, users):
    assert client.post("/calendar/link").status_code in (302, 400)
    client.login(users["dcc"])
    assert client.post_form("/calendar/link", token=False).status_code == 400
    with client.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarToken)) == 0


def test_text_escaping_and_folding():
    assert ical.escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "DESCRIPTION:" + "é" * 100
    folded = ical.fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line
