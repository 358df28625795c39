"""Signing in and out: generic refusals, throttling, first-login password, idle timeout, safe redirects."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from config import TestConfig
from portal import create_app
from portal.access import Role
from portal.audit.models import AuditEvent
from portal.auth import services as auth_services
from portal.auth.models import User
from portal.extensions import db
from conftest import CSRF_RE, PASSWORD, PortalClient

BAD_CREDENTIALS = "Enter a correct email address and password."


def _events(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = sa.select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        events = db.session.scalars(query).all()
        db.session.expunge_all()
        return events


def _sign_in(client, email: str, password: str, next_url: str | None = None):
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post_form(url, {"email": email, "password": password})


def test_correct_password_signs_in_and_is_audited(app, client, make_user):
    user = make_user(Role.DCC)
    response = _sign_in(client, user.email.upper() + "  ", PASSWORD)  # email case and spaces do not matter
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    logins = _events(app, "auth.login")
    assert [(e.actor_id, e.object_id) for e in logins] == [(user.id, user.id)]


def test_unknown_email_and_wrong_password_get_the_same_generic_message(app, client, make_user):
    user = make_user(Role.DCC)
    unknown = _sign_in(client, "nobody@example.org", PASSWORD)
    wrong = _sign_in(client, user.email, "not the password")
    for response in (unknown, wrong):
        assert response.status_code == 401
        page = response.get_data(as_text=True)
        assert BAD_CREDENTIALS in page
        assert "govuk-error-summary" in page
        assert "no account" not in page.lower()
    assert client.get("/").status_code == 302  # still signed out
    failed = _events(app, "auth.login_failed")
    assert [e.details["email"] for e in failed] == ["nobody@example.org", user.email]
    assert _events(app, "auth.login") == []


def test_empty_form_is_422_with_field_messages(app, client):
    response = client.post_form("/login", {"email": "", "password": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter your email address" in page and "Enter your password" in page
    assert _events(app) == []


def test_deactivated_user_cannot_sign_in(app, client, make_user):
    user = make_user(Role.OPSG, active=False)
    response = _sign_in(client, user.email, PASSWORD)
    assert response.status_code == 401
    assert BAD_CREDENTIALS in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_deactivation_ends_an_open_session(app, client, make_user):
    user = make_user(Role.OPSG)
    client.login(user)
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_repeated_failures_throttle_even_the_right_password(app, client, make_user):
    user = make_user(Role.SECAS)
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert _sign_in(client, user.email, "wrong password").status_code == 401
    response = _sign_in(client, user.email, PASSWORD)
    assert response.status_code == 429
    minutes = app.config["LOGIN_LOCKOUT_MINUTES"]
    assert f"Too many attempts. Try again in {minutes} minutes." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    # The refused attempt writes neither a login nor another failure.
    assert len(_events(app, "auth.login_failed")) == limit
    assert _events(app, "auth.login") == []


def test_throttling_is_shared_through_the_database(app, app_config, make_user):
    """Failures counted by one worker (app instance) stop the next attempt on another."""
    user = make_user(Role.DCC)
    first = PortalClient(app)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _sign_in(first, user.email, "wrong password")
    other_worker = create_app(type("OtherWorker", (TestConfig,), app_config))
    try:
        response = _sign_in(PortalClient(other_worker), user.email, PASSWORD)
        assert response.status_code == 429
    finally:
        with other_worker.app_context():
            db.engine.dispose()


def test_throttling_ends_after_the_lockout(app, client, make_user, monkeypatch):
    user = make_user(Role.DCC)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _sign_in(client, user.email, "wrong password")
    later = auth_services.utcnow() + __import__("datetime").timedelta(
        minutes=app.config["LOGIN_LOCKOUT_MINUTES"] + 1)
    monkeypatch.setattr(auth_services, "utcnow", lambda: later)
    assert _sign_in(client, user.email, PASSWORD).status_code == 302


def test_first_sign_in_asks_for_a_new_password(app, client):
    with app.app_context():
        user, first_password = auth_services.create_user(
            None, email="new@example.org", name="New Person", organisation="DCC", role=Role.DCC)
        db.session.commit()
        user_id = user.id
    assert _sign_in(client, "new@example.org", first_password).status_code == 302
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/account/password"

    token = CSRF_RE.search(client.get("/account/password").get_data(as_text=True)).group(1)

    def set_password(password, confirm):
        return client.post_form("/account/password", {"password": password, "confirm": confirm,
                                                      "csrf_token": token}, token=False)

    short = set_password("short", "short")
    assert short.status_code == 422
    assert "at least 12 characters" in short.get_data(as_text=True)
    mismatch = set_password("a long new password", "other one!!!!")
    assert mismatch.status_code == 422
    assert _events(app, "user.password_set") == []

    done = set_password("a long new password", "a long new password")
    assert done.status_code == 303
    assert client.get("/").status_code == 200
    assert [e.object_id for e in _events(app, "user.password_set")] == [user_id]
    assert client.post_form("/logout", {"csrf_token": token}, token=False).status_code == 303
    assert _sign_in(client, "new@example.org", first_password).status_code == 401
    assert _sign_in(client, "new@example.org", "a long new password").status_code == 302


def test_idle_session_is_signed_out(app, client, make_user):
    client.login(make_user(Role.PANEL))
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/").status_code == 302  # the session really ended


def test_idle_session_on_an_htmx_request_gets_hx_redirect(app, client, make_user):
    client.login(make_user(Role.PANEL))
    with client.session_transaction() as session:
        session["last_seen"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_a_fragment_asked_for_signed_out_sends_back_to_its_page_not_to_itself(client):
    """The header's task count loads by htmx: signed out, sign-in must return to the page, not to "(3)"."""
    response = client.get("/tasks/count", headers={"HX-Request": "true",
                                                   "HX-Current-URL": "http://127.0.0.1:5000/releases/feb-2021?x=1"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/releases/feb-2021?x%3D1"
    hostile = client.get("/tasks/count", headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"})
    assert hostile.headers["HX-Redirect"] == "/login?next=/x"  # only ever a path of this portal


def test_logout_is_a_post_with_csrf(app, client, make_user):
    user = make_user(Role.DCC)
    client.login(user)
    assert client.get("/logout").status_code == 405
    assert client.post_form("/logout", token=False).status_code == 400
    assert client.post_form("/logout", {"csrf_token": "forged"}, token=False).status_code == 400
    assert client.get("/").status_code == 200  # still signed in
    response = client.post_form("/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert [e.actor_id for e in _events(app, "auth.logout")] == [user.id]


def test_login_without_csrf_token_is_refused(app, client, make_user):
    user = make_user(Role.DCC)
    before = len(_events(app))
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD}, token=False)
    assert response.status_code == 400
    assert len(_events(app)) == before


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/x", "/\\evil.example",
                                    "\\\\evil.example", "http:/evil.example", "/\t/evil.example",
                                    "javascript:alert(1)", "evil.example"])
def test_login_redirects_only_to_the_portals_own_paths(client, make_user, target):
    user = make_user(Role.DCC)
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD},
                                query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client, make_user):
    user = make_user(Role.DCC)
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD},
                                query_string={"next": "/tasks?x=1"})
    assert response.headers["Location"] == "/tasks?x=1"


def test_anonymous_page_request_goes_to_login_with_next(client):
    response = client.get("/tasks")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_sign_in_starts_a_new_session(client, make_user):
    user = make_user(Role.DCC)
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        token_before = session.get("csrf_token")
    cookie_before = client.get_cookie("session").value
    client.login(user)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != token_before
    assert client.get_cookie("session").value != cookie_before


def test_htmx_request_when_signed_out_gets_401_and_hx_redirect(client):
    response = client.get("/tasks", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert response.get_data(as_text=True) == ""


def test_wrong_role_gets_the_403_page(client, make_user):
    client.login(make_user(Role.DCC))
    response = client.get("/admin/users")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Your role does not give you access to this page." in page
    assert "govuk-header" in page or "SEC Release Portal" in page
