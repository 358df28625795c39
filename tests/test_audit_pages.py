"""The audit trail pages: who sees them, filters, keyset paging with HTMX, and the chain status."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.audit.services import record_event
from portal.auth.models import User
from portal import timeutil
from portal.extensions import db
from portal.releases.models import Release


def _record(app, user, action, summary, *, release=None, n=1, on_behalf_of=None, **kw):
    with app.app_context():
        actor = db.session.get(User, user.id) if user else None
        rel = db.session.get(Release, release.id) if release else None
        behalf = db.session.get(User, on_behalf_of.id) if on_behalf_of else None
        for i in range(n):
            record_event(actor, action, summary.format(i=i), release=rel, on_behalf_of=behalf, **kw)
        db.session.commit()


@pytest.mark.parametrize("who", ["dcc", "secas", "opsg", "panel"])
def test_every_signed_in_role_sees_a_release_trail(client, users, make_release, who):
    release = make_release()
    _record(client.app, users["dcc"], "evidence.uploaded", "Uploaded test report", release=release,
            before={"status": "draft"}, after={"status": "submitted"})
    _record(client.app, users["dcc"], "elsewhere.thing", "Not about this release")
    client.login(users[who])
    page = client.get(f"/releases/{release.code}/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Uploaded test report" in html
    assert "draft → submitted" in html
    assert "Not about this release" not in html
    assert "The audit chain verifies" in html


def test_anonymous_is_sent_to_sign_in(client, make_release):
    release = make_release()
    assert client.get(f"/releases/{release.code}/audit").status_code == 302


def test_unknown_release_is_404(client, users):
    client.login(users["dcc"])
    assert client.get("/releases/nope/audit").status_code == 404


def test_portal_trail_is_for_admins(client, users, make_user):
    client.login(users["secas"])
    page = client.get("/audit")
    assert page.status_code == 200
    assert "signed in" in page.get_data(as_text=True)
    client.logout()
    client.login(make_user(Role.SECAS))  # not an admin
    assert client.get("/audit").status_code == 403
    client.logout()
    client.login(users["dcc"])
    assert client.get("/audit").status_code == 403


def test_alternates_and_roles_are_shown(client, users, make_release):
    release = make_release()
    _record(client.app, users["panel"], "vote.cast", "Voted", release=release, on_behalf_of=users["panel_chair"])
    client.login(users["opsg"])
    html = client.get(f"/releases/{release.code}/audit").get_data(as_text=True)
    assert f"for {users['panel_chair'].name}" in html
    assert "SEC Panel" in html


def test_filters_by_person_role_and_kind(client, users, make_release):
    release = make_release()
    _record(client.app, users["dcc"], "evidence.uploaded", "DCC upload", release=release)
    _record(client.app, users["opsg"], "criterion.assessed", "OpsG assessment", release=release)
    client.login(users["panel"])
    url = f"/releases/{release.code}/audit"
    html = client.get(url, query_string={"person": users["dcc"].id}).get_data(as_text=True)
    assert "DCC upload" in html and "OpsG assessment" not in html
    html = client.get(url, query_string={"role": "opsg"}).get_data(as_text=True)
    assert "OpsG assessment" in html and "DCC upload" not in html
    html = client.get(url, query_string={"kind": "evidence.uploaded"}).get_data(as_text=True)
    assert "DCC upload" in html and "OpsG assessment" not in html


def test_filters_by_uk_date(client, users, make_release):
    release = make_release()
    _record(client.app, users["dcc"], "evidence.uploaded", "Recent upload", release=release)
    with client.app.app_context():
        day = db.session.scalar(sa.select(AuditEvent.occurred_at).order_by(AuditEvent.id.desc()))
        day = timeutil.as_utc(day).astimezone(timeutil.UK).date()
    client.login(users["panel"])
    url = f"/releases/{release.code}/audit"
    args = [("date_from", f"{day:%d}"), ("date_from", f"{day:%m}"), ("date_from", f"{day:%Y}"),
            ("date_to", f"{day:%d}"), ("date_to", f"{day:%m}"), ("date_to", f"{day:%Y}")]
    assert "Recent upload" in client.get(url, query_string=args).get_data(as_text=True)
    past = day - dt.timedelta(days=10)
    args = [("date_to", f"{past:%d}"), ("date_to", f"{past:%m}"), ("date_to", f"{past:%Y}")]
    assert "Recent upload" not in client.get(url, query_string=args).get_data(as_text=True)


def test_bad_filters_get_422_with_the_error_summary(client, users, make_release):
    release = make_release()
    client.login(users["dcc"])
    url = f"/releases/{release.code}/audit"
    response = client.get(url, query_string=[("date_from", "31"), ("date_from", "02"), ("date_from", "2021")])
    assert response.status_code == 422
    assert "There is a problem" in response.get_data(as_text=True)
    response = client.get(url, query_string=[("date_from", "10"), ("date_from", "02"), ("date_from", "2021"),
                                             ("date_to", "01"), ("date_to", "02"), ("date_to", "2021")])
    assert response.status_code == 422
    assert client.get(url, query_string={"person": "999"}).status_code == 422
    assert client.get(url, query_string={"role": "king"}).status_code == 422


def test_paging_by_id_with_htmx_and_plain_links(client, users, make_release):
    release = make_release()
    _record(client.app, users["dcc"], "test.step", "Step {i}.", release=release, n=120)
    client.login(users["dcc"])
    url = f"/releases/{release.code}/audit"
    html = client.get(url).get_data(as_text=True)
    assert html.count('id="audit-event-') == 50
    assert "Step 119." in html and "Step 70." in html and "Step 69." not in html
    with client.app.app_context():
        cursor = db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.summary == "Step 70."))
    assert f"before={cursor}" in html
    # HTMX asks for the fragment only.
    fragment = client.get(url, query_string={"before": cursor}, headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="audit-events">')
    assert "<html" not in text
    assert "Step 69." in text and "Step 20." in text and "Step 19." not in text
    assert "Newer" in text and "Older" in text
    # Without JavaScript the same link gives the whole page.
    page = client.get(url, query_string={"before": cursor}).get_data(as_text=True)
    assert "<html" in page and "Step 69." in page
    # The newer link returns to the first page.
    with client.app.app_context():
        first = db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.summary == "Step 69."))
    page = client.get(url, query_string={"after": first}).get_data(as_text=True)
    assert "Step 119." in page and "Step 70." in page and "Step 69." not in page
    assert "Newer" not in page


def test_paging_keeps_the_filters(client, users, make_release):
    release = make_release()
    _record(client.app, users["dcc"], "test.step", "Step {i}.", release=release, n=60)
    _record(client.app, users["opsg"], "test.other", "Other {i}.", release=release, n=5)
    client.login(users["dcc"])
    html = client.get(f"/releases/{release.code}/audit", query_string={"kind": "test.step"}).get_data(as_text=True)
    assert "kind=test.step" in html and "before=" in html
    assert "Other" not in html


def test_chain_status_fragment_for_the_release_page(client, users, make_release):
    release = make_release()
    client.login(users["dcc"])
    response = client.get(f"/releases/{release.code}/audit/chain", headers={"HX-Request": "true"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'id="audit-chain-status"' in text and "Verified" in text


def test_a_broken_chain_is_shown_on_the_audit_page(client, users, make_release):
    release = make_release()
    with client.app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("DROP TRIGGER audit_event_append_only ON audit_event"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_event_no_update"))
        conn.execute(sa.text("UPDATE audit_event SET summary = 'forged' WHERE id = 2"))
    client.login(users["dcc"])
    html = client.get(f"/releases/{release.code}/audit").get_data(as_text=True)
    assert "The audit chain is broken at event 2" in html
