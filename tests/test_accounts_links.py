"""Emailed account links: an admin's invitation (expiry, single use, resend, revoke), "Forgotten your password?"
(the same answer for every address, throttled, single use, ends every session) and changing one's password."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from conftest import CSRF_RE, PASSWORD, PortalClient
from decisions_support import client_for

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.auth.models import AccountToken, LoginAttempt, PasswordResetRequest, User
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.urls import base_url

NEW_PASSWORD = "a brand new passphrase"
NEW_USER = {"email": "Pat.New@Example.org", "name": "Pat New", "organisation": "Acme Energy", "role": "opsg"}
LINK_RE = re.compile(r"(https?://\S+/(?:invitation|password/reset)/[\w-]+)")


def _mail(app, to: str) -> list[OutboxMessage]:
    with app.app_context():
        messages = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to == to)
                                      .order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return messages


def _link(app, to: str, subject: str) -> str:
    [message] = [m for m in _mail(app, to) if m.subject == subject][-1:]
    return LINK_RE.search(message.body).group(1)


def _path(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()
        db.session.expunge_all()
        return events


def _user(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def _choose(client: PortalClient, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    token = match.group(1) if match else client.csrf_token()
    return client.post_form(path, {"password": password, "confirm": confirm or password, "csrf_token": token},
                            token=False)


def _signs_in(app, email: str, password: str) -> bool:
    return PortalClient(app).post_form("/login", {"email": email, "password": password}).status_code == 302


@pytest.fixture
def admin(make_user):
    return make_user(Role.SECAS, admin=True, name="Ada Admin")


@pytest.fixture
def invited(app, admin):
    """The admin invites Pat New; returns (the admin's client, the emailed link)."""
    client = client_for(app, admin)
    assert client.post_form("/admin/users/new", NEW_USER).status_code == 303
    return client, _link(app, "pat.new@example.org", "You are invited to the SEC Release Portal")


# --- Invitations ----------------------------------------------------------------------------------------------

def test_an_invitation_is_emailed_with_an_absolute_link_that_expires(app, admin, invited):
    client, link = invited
    assert link.startswith("http://localhost/invitation/")
    [message] = _mail(app, "pat.new@example.org")
    assert "Ada Admin has added you to the SEC Release Portal as OpsG (Acme Energy)" in message.body
    assert "for 72 hours" in message.body
    raw = link.rsplit("/", 1)[1]
    with app.app_context():
        stored = db.session.scalars(sa.select(AccountToken.token_hash)).all()
    assert raw not in stored and len(stored) == 1 and len(stored[0]) == 64  # only the SHA-256 is kept
    user = _user(app, "pat.new@example.org")
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Invitation" in page and "Sent" in page and "Expires" in page
    assert "Resend invitation" in page and "Revoke invitation" in page
    assert _events(app, "user.invitation_sent")[0].actor_id == admin.id


def test_the_invitee_chooses_a_password_and_signs_in_and_the_link_works_once(app, invited):
    client, link = invited
    invitee = PortalClient(app)
    page = invitee.get(_path(link))
    assert page.status_code == 200 and "Choose your password" in page.get_data(as_text=True)
    mismatch = _choose(invitee, _path(link), confirm="something else entirely")
    assert mismatch.status_code == 422 and "The passwords do not match" in mismatch.get_data(as_text=True)
    short = _choose(invitee, _path(link), password="short")
    assert short.status_code == 422 and "Password must be at least 12 characters" in short.get_data(as_text=True)
    done = _choose(invitee, _path(link))
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "Your password is saved" in invitee.get("/login").get_data(as_text=True)
    assert _signs_in(app, "pat.new@example.org", NEW_PASSWORD)
    again = invitee.get(_path(link))
    assert again.status_code == 410 and "This link has already been used" in again.get_data(as_text=True)
    assert _choose(invitee, _path(link), password="yet another passphrase").status_code == 410
    assert _signs_in(app, "pat.new@example.org", NEW_PASSWORD)
    user = _user(app, "pat.new@example.org")
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Accepted" in page and "Resend invitation" not in page
    assert len(_events(app, "user.invitation_accepted")) == 1


def test_an_expired_invitation_shows_a_clear_page(app, invited):
    client, link = invited
    with app.app_context():
        db.session.execute(sa.update(AccountToken).values(expires_at=dt.datetime.now(dt.timezone.utc)
                                                          - dt.timedelta(minutes=1)))
        db.session.commit()
    page = PortalClient(app).get(_path(link))
    assert page.status_code == 410 and "This link has expired" in page.get_data(as_text=True)
    assert _choose(PortalClient(app), _path(link)).status_code == 410
    user = _user(app, "pat.new@example.org")
    assert "Expired" in client.get(f"/admin/users/{user.id}").get_data(as_text=True)


def test_resending_makes_a_new_link_and_the_old_one_stops_working(app, invited):
    client, old = invited
    user = _user(app, "pat.new@example.org")
    response = client.post_form(f"/admin/users/{user.id}/invitation/resend")
    assert response.status_code == 303
    assert "the earlier link no longer works" in client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    new = _link(app, "pat.new@example.org", "You are invited to the SEC Release Portal")
    assert new != old
    stale = PortalClient(app).get(_path(old))
    assert stale.status_code == 410 and "This link no longer works" in stale.get_data(as_text=True)
    assert _choose(PortalClient(app), _path(new)).status_code == 303
    assert len(_events(app, "user.invitation_resent")) == 1


def test_revoking_an_invitation_stops_its_link(app, invited):
    client, link = invited
    user = _user(app, "pat.new@example.org")
    assert client.post_form(f"/admin/users/{user.id}/invitation/revoke").status_code == 303
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Revoked" in page and "Revoke invitation" not in page and "Resend invitation" in page
    assert PortalClient(app).get(_path(link)).status_code == 410
    assert _choose(PortalClient(app), _path(link)).status_code == 410
    again = client.post_form(f"/admin/users/{user.id}/invitation/revoke")
    assert again.status_code == 409
    assert len(_events(app, "user.invitation_revoked")) == 1


def test_an_account_with_its_own_password_has_no_invitation_to_resend(app, admin, make_user):
    other = make_user(Role.DCC)
    client = client_for(app, admin)
    assert "Resend invitation" not in client.get(f"/admin/users/{other.id}").get_data(as_text=True)
    assert client.post_form(f"/admin/users/{other.id}/invitation/resend").status_code == 409
    assert _mail(app, other.email) == []


def test_an_unknown_link_is_not_found(app):
    page = PortalClient(app).get("/invitation/not-a-real-token")
    assert page.status_code == 404 and "This link is not valid" in page.get_data(as_text=True)
    assert PortalClient(app).get("/password/reset/not-a-real-token").status_code == 404


def test_links_use_the_configured_base_url(app, admin):
    app.config["PORTAL_BASE_URL"] = "https://releases.example.org/"
    client = client_for(app, admin)
    assert client.post_form("/admin/users/new", NEW_USER).status_code == 303
    link = _link(app, "pat.new@example.org", "You are invited to the SEC Release Portal")
    assert link.startswith("https://releases.example.org/invitation/")


# --- Forgotten password ---------------------------------------------------------------------------------------

def _forgotten(client: PortalClient, email: str):
    return client.post_form("/password/forgotten", {"email": email})


def test_the_sign_in_page_links_to_forgotten_password(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgotten"' in page and "Forgotten your password?" in page


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(app, make_user):
    user = make_user(Role.DCC)
    known = _forgotten(PortalClient(app), user.email.upper())
    unknown = _forgotten(PortalClient(app), "nobody@example.org")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/password/forgotten/sent"
    page = PortalClient(app).get("/password/forgotten/sent").get_data(as_text=True)
    assert "If that address has an account, we have sent a link" in page
    assert [m.subject for m in _mail(app, user.email)] == ["Reset your SEC Release Portal password"]
    assert _mail(app, "nobody@example.org") == []


def test_a_reset_sets_a_new_password_ends_every_session_and_is_audited(app, make_user):
    user = make_user(Role.DCC)
    elsewhere = client_for(app, user)
    assert _forgotten(PortalClient(app), user.email).status_code == 303
    link = _link(app, user.email, "Reset your SEC Release Portal password")
    assert link.startswith("http://localhost/password/reset/")
    assert "for 1 hour" in _mail(app, user.email)[0].body
    browser = PortalClient(app)
    assert "Choose a new password" in browser.get(_path(link)).get_data(as_text=True)
    done = _choose(browser, _path(link))
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert elsewhere.get("/tasks").status_code == 302  # signed out everywhere
    assert _signs_in(app, user.email, NEW_PASSWORD) and not _signs_in(app, user.email, PASSWORD)
    [event] = _events(app, "user.password_reset")
    assert event.actor_id == user.id
    assert "Your password was changed" in [m.subject for m in _mail(app, user.email)]
    reuse = PortalClient(app).get(_path(link))
    assert reuse.status_code == 410 and "already been used" in reuse.get_data(as_text=True)


def test_a_reset_link_expires_and_a_newer_one_replaces_it(app, make_user):
    user = make_user(Role.DCC)
    _forgotten(PortalClient(app), user.email)
    first = _link(app, user.email, "Reset your SEC Release Portal password")
    _forgotten(PortalClient(app), user.email)
    second = _link(app, user.email, "Reset your SEC Release Portal password")
    assert PortalClient(app).get(_path(first)).status_code == 410
    with app.app_context():
        db.session.execute(sa.update(AccountToken).values(expires_at=dt.datetime.now(dt.timezone.utc)
                                                          - dt.timedelta(seconds=1)))
        db.session.commit()
    expired = PortalClient(app).get(_path(second))
    assert expired.status_code == 410 and "This link has expired" in expired.get_data(as_text=True)
    assert _choose(PortalClient(app), _path(second)).status_code == 410
    assert _signs_in(app, user.email, PASSWORD)


def test_an_invitation_link_does_not_reset_and_a_reset_link_does_not_accept(app, invited):
    _, link = invited
    token = link.rsplit("/", 1)[1]
    assert PortalClient(app).get(f"/password/reset/{token}").status_code == 404


def test_requests_are_throttled_per_address_and_per_client(app, make_user):
    user = make_user(Role.DCC)
    client = PortalClient(app)
    assert [_forgotten(client, user.email).status_code for _ in range(3)] == [303] * 3
    refused = _forgotten(client, user.email)
    assert refused.status_code == 429 and "Too many requests for a link" in refused.get_data(as_text=True)
    unknown = [_forgotten(client, "nobody@example.org").status_code for _ in range(4)]
    assert unknown == [303, 303, 303, 429]  # unknown addresses are throttled alike: nothing to tell them apart
    assert len(_mail(app, user.email)) == 3
    # Per client: many different addresses from one address are refused too.
    app.config["PASSWORD_RESET_MAX_PER_CLIENT"] = 6
    assert _forgotten(client, "someone.else@example.org").status_code == 429
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PasswordResetRequest.id))) == 6


def test_a_blank_or_overlong_address_is_an_error_and_nothing_is_stored(app):
    client = PortalClient(app)
    blank = _forgotten(client, "")
    assert blank.status_code == 422 and "Enter your email address" in blank.get_data(as_text=True)
    long = _forgotten(client, "a" * 250 + "@example.org")
    assert long.status_code == 422 and "254 characters or fewer" in long.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PasswordResetRequest.id))) == 0


# --- Changing one's password ------------------------------------------------------------------------------------

def test_change_your_password_is_in_the_header_and_needs_the_current_password(app, make_user):
    user = make_user(Role.OPSG)
    client = client_for(app, user)
    page = client.get("/tasks").get_data(as_text=True)
    assert 'href="/account/password">Change your password</a>' in page
    form = client.get("/account/password").get_data(as_text=True)
    assert "<h1 class=\"govuk-heading-l\">Change your password</h1>" in form and "Current password" in form
    wrong = client.post_form("/account/password", {"current_password": "not my password",
                                                   "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert wrong.status_code == 422
    text = wrong.get_data(as_text=True)
    assert "govuk-error-summary" in text and "Enter your current password" in text
    assert _events(app, "user.password_set") == []
    assert _signs_in(app, user.email, PASSWORD)


def test_the_user_list_shows_who_has_not_accepted_yet(app, invited):
    client, link = invited
    assert "Invitation sent" in client.get("/admin/users").get_data(as_text=True)
    _choose(PortalClient(app), _path(link))
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Invitation sent" not in page and "Invitation accepted" not in page


def test_a_reset_lifts_a_sign_in_lockout_and_ends_any_other_open_link(app, invited):
    _, invitation = invited
    email = "pat.new@example.org"
    with app.app_context():
        db.session.add_all(LoginAttempt(email=email, succeeded=False) for _ in range(5))
        db.session.commit()
    assert PortalClient(app).post_form("/login", {"email": email, "password": "anything at all"}).status_code == 429
    _forgotten(PortalClient(app), email)
    assert _choose(PortalClient(app), _path(_link(app, email, "Reset your SEC Release Portal password"))
                   ).status_code == 303
    assert _signs_in(app, email, NEW_PASSWORD)
    assert PortalClient(app).get(_path(invitation)).status_code == 410  # the older invitation link is dead too


def test_link_tokens_never_reach_the_request_log(app, invited, capsys):
    _, link = invited
    capsys.readouterr()
    assert _choose(PortalClient(app), _path(link)).status_code == 303
    log = capsys.readouterr().err
    assert "/invitation/[redacted]" in log and link.rsplit("/", 1)[1] not in log


def test_an_overlong_password_is_an_error_in_govuk_style(app, invited):
    _, link = invited
    response = _choose(PortalClient(app), _path(link), password="x" * 201)
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "Password must be 200 characters or fewer" in text
    assert "at least 12 characters</a>" not in text


def test_a_forged_host_never_carries_a_reset_link_in_production(app):
    """Password reset poisoning: without PORTAL_BASE_URL, production ignores the Host header for the links that are
    credentials; other links may still follow the request's host."""
    app.config["PORTAL_TRUST_REQUEST_HOST"] = False  # as in production
    with app.test_request_context("/password/forgotten", base_url="http://evil.example"):
        assert base_url(secret=True) == "http://127.0.0.1:5000"
        assert base_url() == "http://evil.example"
    app.config["PORTAL_BASE_URL"] = "https://releases.example.org"
    with app.test_request_context("/password/forgotten", base_url="http://evil.example"):
        assert base_url(secret=True) == base_url() == "https://releases.example.org"
