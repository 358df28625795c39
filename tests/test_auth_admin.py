"""A SECAS admin adds users, changes roles and deactivates accounts; `flask users create` on the command line."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.extensions import db
from conftest import PASSWORD

NEW_USER = {"email": "Pat.New@Example.org", "name": "Pat New", "organisation": "Acme Energy", "role": "opsg"}


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()
        db.session.expunge_all()
        return events


def _user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


@pytest.fixture
def admin(make_user):
    return make_user(Role.SECAS, admin=True, name="Ada Admin")


NOT_ADMINS = [(Role.SECAS, False), (Role.DCC, False), (Role.OPSG, False), (Role.OPSG, True),
              (Role.PANEL, False), (Role.PANEL, True)]


@pytest.mark.parametrize("role,chair", NOT_ADMINS)
@pytest.mark.parametrize("url", ["/admin/users", "/admin/users/new", "/admin/users/1"])
def test_only_a_secas_admin_sees_the_admin_pages(client, make_user, admin, role, chair, url):
    client.login(make_user(role, chair=chair))
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("role,chair", NOT_ADMINS)
def test_non_admins_cannot_add_or_change_users(app, client, make_user, admin, role, chair):
    client.login(make_user(role, chair=chair))
    users_before = _count(app, User)
    events_before = _count(app, AuditEvent)
    assert client.post_form("/admin/users/new", NEW_USER).status_code == 403
    assert client.post_form(f"/admin/users/{admin.id}", {**NEW_USER, "active": ""}).status_code == 403
    assert _count(app, User) == users_before
    assert _count(app, AuditEvent) == events_before
    assert _user(app, admin.id).active


def test_admin_lists_every_account(client, admin, users):
    client.login(admin)
    page = client.get("/admin/users").get_data(as_text=True)
    for user in users.values():
        assert user.email in page
    assert "Add a user" in page


def test_admin_adds_a_user_who_is_invited_by_email(app, client, admin):
    client.login(admin)
    response = client.post_form("/admin/users/new", {**NEW_USER, "is_chair": "y"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users"
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "pat.new@example.org"))
        assert (user.name, user.role, user.is_chair, user.is_admin) == ("Pat New", Role.OPSG, True, False)
        assert user.must_change_password and user.active
    page = client.get("/admin/users").get_data(as_text=True)
    assert "We have emailed an invitation to pat.new@example.org" in page
    assert "one-time password" not in page
    [event] = _events(app, "user.created")[-1:]
    assert event.actor_id == admin.id and event.details["after"]["email"] == "pat.new@example.org"


@pytest.mark.parametrize("data,message", [
    ({"email": ""}, "Enter an email address"),
    ({"email": "not-an-email"}, "Enter an email address in the correct format"),
    ({"name": ""}, "Enter the person&#39;s full name"),
    ({"organisation": ""}, "Enter the organisation"),
    ({"role": ""}, "Select a role"),
    ({"role": "superuser"}, "Select one of the options shown"),
    ({"role": "dcc", "is_admin": "y"}, "Only SECAS users can be administrators."),
    ({"name": "x" * 201}, "Full name must be 200 characters or fewer"),
])
def test_invalid_new_user_is_422_and_nothing_is_stored(app, client, admin, data, message):
    client.login(admin)
    users_before = _count(app, User)
    events_before = _count(app, AuditEvent)
    response = client.post_form("/admin/users/new", {**NEW_USER, **data})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "govuk-error-summary" in page
    assert message in page
    assert _count(app, User) == users_before
    assert _count(app, AuditEvent) == events_before


def test_duplicate_email_is_refused(app, client, admin):
    client.login(admin)
    response = client.post_form("/admin/users/new", {**NEW_USER, "email": admin.email.upper()})
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert _count(app, User, User.email == admin.email) == 1


def _edit(user: User, **changes) -> dict:
    data = {"name": user.name, "organisation": user.organisation, "role": user.role.value,
            "is_admin": "y" if user.is_admin else "", "is_chair": "y" if user.is_chair else "",
            "active": "y" if user.active else ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}  # an unticked checkbox is not sent


def test_admin_changes_a_role_with_one_audit_event(app, client, admin, make_user):
    person = make_user(Role.DCC)
    client.login(admin)
    form = client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert person.email in form
    response = client.post_form(f"/admin/users/{person.id}", _edit(person, role="panel", is_chair="y"))
    assert response.status_code == 303
    changed = _user(app, person.id)
    assert changed.role == Role.PANEL and changed.is_chair
    [event] = _events(app, "user.updated")
    assert event.actor_id == admin.id and event.object_id == person.id
    assert event.details["before"]["role"] == "dcc" and event.details["after"]["role"] == "panel"


def test_saving_without_changes_writes_no_event(app, client, admin, make_user):
    person = make_user(Role.DCC)
    client.login(admin)
    assert client.post_form(f"/admin/users/{person.id}", _edit(person)).status_code == 303
    assert _events(app, "user.updated") == []


def test_admin_deactivates_an_account_and_it_cannot_sign_in(app, client, admin, make_user):
    person = make_user(Role.OPSG)
    client.login(admin)
    assert client.post_form(f"/admin/users/{person.id}", _edit(person, active="")).status_code == 303
    assert not _user(app, person.id).active
    assert _count(app, User, User.id == person.id) == 1  # nothing is deleted
    assert "Deactivated" in client.get("/admin/users").get_data(as_text=True)
    client.logout()
    refused = client.post_form("/login", {"email": person.email, "password": PASSWORD})
    assert refused.status_code == 401


def test_invalid_change_is_422_and_nothing_is_stored(app, client, admin, make_user):
    person = make_user(Role.DCC)
    client.login(admin)
    for data in (_edit(person, name=""), _edit(person, role="nope"), _edit(person, is_admin="y")):
        response = client.post_form(f"/admin/users/{person.id}", data)
        assert response.status_code == 422
        assert "govuk-error-summary" in response.get_data(as_text=True)
    assert _user(app, person.id).role == Role.DCC
    assert _events(app, "user.updated") == []


def test_admin_cannot_lock_themselves_out(app, client, admin):
    client.login(admin)
    response = client.post_form(f"/admin/users/{admin.id}", _edit(_user(app, admin.id), active=""))
    assert response.status_code == 422
    assert "You cannot remove your own administrator access" in response.get_data(as_text=True)
    assert _user(app, admin.id).active


def test_unknown_user_is_404(client, admin):
    client.login(admin)
    assert client.get("/admin/users/9999").status_code == 404


def test_cli_creates_a_user(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "Chair@Example.org",
                                                "--role", "opsg", "--chair"])
    assert result.exit_code == 0, result.output
    assert "Created chair@example.org (OpsG). First password: " in result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "chair@example.org"))
        assert user.role == Role.OPSG and user.is_chair and not user.is_admin and user.must_change_password
    [event] = _events(app, "user.created")
    assert event.actor_id is None


def test_cli_creates_an_admin_who_can_sign_in(app, client):
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "boss@example.org",
                                                "--role", "secas", "--admin", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    response = client.post_form("/login", {"email": "boss@example.org", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("args,message", [
    (["--email", "x@example.org", "--role", "dcc", "--admin"], "Only SECAS users can be administrators."),
    (["--email", "x@example.org", "--role", "king"], "Invalid value for '--role'"),
    (["--role", "dcc"], "Missing option '--email'"),
])
def test_cli_refuses_bad_input_and_stores_nothing(app, args, message):
    result = app.test_cli_runner().invoke(args=["users", "create", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert _count(app, User) == 0


def test_cli_refuses_a_duplicate_email(app, make_user):
    user = make_user(Role.DCC)
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", user.email, "--role", "dcc"])
    assert result.exit_code != 0 and "already exists" in result.output
    assert _count(app, User) == 1
