"""Optional two-factor sign-in: enrolment with a QR code, codes at sign-in, recovery codes, required roles."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.auth.totp_models import RecoveryCode, TotpCredential
from portal.extensions import db

from conftest import PASSWORD, PortalClient

RECOVERY_RE = re.compile(r"<code class=\"portal-hash\">([a-z0-9]{5}-[a-z0-9]{5})</code>")
SECRET_RE = re.compile(r"<code class=\"portal-hash\">([A-Z2-7]{16,})</code>")


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def enrol(client) -> tuple[str, list[str]]:
    """Set up an authenticator as the signed-in user; returns its secret and the recovery codes."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code is drawn in the portal, not fetched
    secret = SECRET_RE.search(page).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert response.status_code == 303
    codes_page = client.get(response.headers["Location"]).get_data(as_text=True)
    codes = RECOVERY_RE.findall(codes_page)
    assert len(codes) == 10
    return secret, codes


def password_step(app, user, next_url: str = "") -> PortalClient:
    fresh = PortalClient(app)
    response = fresh.post_form("/login" + next_url, {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    return fresh


def _step_code(secret: str, steps_ago: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() - steps_ago * totp.interval)


def test_enrol_then_sign_in_with_a_code(app, client, users):
    client.login(users["dcc"])
    secret, _codes = enrol(client)
    assert len(_events(app, "auth.totp_enrolled")) == 1

    logins_before = len(_events(app, "auth.login"))
    fresh = password_step(app, users["dcc"], "?next=/tasks")
    assert fresh.get("/tasks").status_code == 302  # half signed in is not signed in
    # The trail says the password was right, not that they signed in: that waits for the code.
    assert len(_events(app, "auth.login")) == logins_before
    assert [e.actor_id for e in _events(app, "auth.password_accepted")] == [users["dcc"].id]
    # The code used at enrolment cannot be replayed; the previous step's code is still older.
    response = fresh.post_form("/login/code", {"code": _step_code(secret, -1)})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert fresh.get("/tasks").status_code == 200
    assert len(_events(app, "auth.login")) == logins_before + 1


def test_a_code_is_accepted_only_once(app, client, users):
    client.login(users["dcc"])
    secret, _ = enrol(client)
    code = _step_code(secret, -1)
    first = password_step(app, users["dcc"])
    assert first.post_form("/login/code", {"code": code}).status_code == 302
    second = password_step(app, users["dcc"])
    response = second.post_form("/login/code", {"code": code})
    assert response.status_code == 401
    assert "The code is not right" in response.get_data(as_text=True)


def test_wrong_codes_are_throttled(app, client, users):
    client.login(users["dcc"])
    enrol(client)
    fresh = password_step(app, users["dcc"])
    logins_before = len(_events(app, "auth.login"))
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert fresh.post_form("/login/code", {"code": "000000"}).status_code == 401
    assert fresh.post_form("/login/code", {"code": "000000"}).status_code == 429
    assert len(_events(app, "auth.login")) == logins_before  # wrong codes never count as a sign-in
    # Signing in with the password again does not reset the count.
    again = PortalClient(app).post_form("/login", {"email": users["dcc"].email, "password": PASSWORD})
    assert again.status_code == 429


def test_recovery_code_works_once_and_is_stored_hashed(app, client, users):
    client.login(users["opsg"])
    _, codes = enrol(client)
    assert client.get("/account/two-factor/recovery-codes").get_data(as_text=True).count("portal-hash") == 0
    with app.app_context():
        stored = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)

    fresh = password_step(app, users["opsg"])
    assert fresh.post_form("/login/code", {"code": codes[0].upper()}).status_code == 302
    used = _events(app, "auth.recovery_code_used")
    assert len(used) == 1 and used[0].details["recovery_codes_left"] == 9
    again = password_step(app, users["opsg"])
    assert again.post_form("/login/code", {"code": codes[0]}).status_code == 401


def test_wrong_enrolment_code_is_422_and_stores_nothing(app, client, users):
    client.login(users["dcc"])
    client.get("/account/two-factor")
    response = client.post_form("/account/two-factor", {"code": "12345x"})
    assert response.status_code == 422
    assert "There is a problem" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(TotpCredential.id))) == 0
    assert not _events(app, "auth.totp_enrolled")


def test_disable_needs_the_password(app, client, users):
    client.login(users["dcc"])
    enrol(client)
    assert client.post_form("/account/two-factor/disable", {"password": "wrong"}).status_code == 422
    assert not _events(app, "auth.totp_disabled")
    response = client.post_form("/account/two-factor/disable", {"password": PASSWORD})
    assert response.status_code == 303
    assert len(_events(app, "auth.totp_disabled")) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RecoveryCode.id))) == 0
    # Signing in is back to the password only.
    PortalClient(app).login(users["dcc"])


def test_admin_requires_two_factor_for_a_role(app, client, users):
    client.login(users["secas"])
    response = client.post_form("/admin/two-factor", {"roles": ["panel"]})
    assert response.status_code == 303
    events = _events(app, "auth.two_factor_policy_changed")
    assert events[-1].details["after"] == {"roles": ["panel"]}

    panel = PortalClient(app)
    panel.login(users["panel"])
    response = panel.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
    assert panel.get("/tasks").headers["Location"] == "/account/two-factor"
    fragment = panel.get("/tasks", headers={"HX-Request": "true"})
    assert fragment.headers["HX-Redirect"] == "/account/two-factor"
    secret, _ = enrol(panel)
    assert panel.get("/").status_code == 200
    # Required for the role: it cannot be turned off.
    assert panel.post_form("/account/two-factor/disable", {"password": PASSWORD}).status_code == 409
    # Other roles are not affected.
    dcc = PortalClient(app)
    dcc.login(users["dcc"])
    assert dcc.get("/").status_code == 200


@pytest.mark.parametrize("role", [Role.DCC, Role.OPSG, Role.PANEL])
def test_only_an_admin_sets_the_requirement(app, client, make_user, role):
    client.login(make_user(role))
    assert client.get("/admin/two-factor").status_code == 403
    assert client.post_form("/admin/two-factor", {"roles": ["dcc"]}).status_code == 403
    assert not _events(app, "auth.two_factor_policy_changed")


def test_code_page_without_a_password_step_goes_back_to_sign_in(client):
    response = client.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_an_admin_resets_a_lost_authenticator(app, client, users):
    """A user who lost their phone and codes: the admin confirms with their own password and resets it; the user is
    emailed and signs in with the password again."""
    from portal.notifications.models import OutboxMessage

    client.login(users["dcc"])
    enrol(client)
    admin = PortalClient(app)
    admin.login(users["secas"])
    url = f"/admin/users/{users['dcc'].id}/two-factor/reset"
    page = admin.get(f"/admin/users/{users['dcc'].id}").get_data(as_text=True)
    assert "Reset two-factor sign-in" in page and "Your password (to confirm the reset)" in page
    for password, message in (("", "Enter your password to confirm the reset"),
                              ("not my password", "Enter your correct password to reset")):
        refused = admin.post_form(url, {"password": password})
        assert refused.status_code == 422
        assert "govuk-error-summary" in refused.get_data(as_text=True)
        assert message in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TotpCredential)) == 1  # nothing changed
    response = admin.post_form(url, {"password": PASSWORD})
    assert response.status_code == 303
    assert "is reset" in admin.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TotpCredential)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
        mail = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to == users["dcc"].email)).all()
        # Told at the set-up and at the reset (every two-factor change is emailed).
        assert [m.subject for m in mail] == ["Two-factor sign-in was set up", "Your two-factor sign-in was reset"]
    [event] = _events(app, "auth.totp_reset")
    assert event.actor_id == users["secas"].id and event.object_id == users["dcc"].id
    fresh = PortalClient(app)
    response = fresh.post_form("/login", {"email": users["dcc"].email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    # Nothing left to reset: a clear message, nothing recorded.
    again = admin.post_form(url, {"password": PASSWORD})
    assert again.status_code == 422 and "nothing to reset" in again.get_data(as_text=True)
    assert len(_events(app, "auth.totp_reset")) == 1


def test_only_an_admin_resets_two_factor_and_never_their_own(app, client, users):
    client.login(users["dcc"])
    enrol(client)
    assert client.post_form(f"/admin/users/{users['dcc'].id}/two-factor/reset",
                            {"password": PASSWORD}).status_code == 403
    admin = PortalClient(app)
    admin.login(users["secas"])
    enrol(admin)
    response = admin.post_form(f"/admin/users/{users['secas'].id}/two-factor/reset", {"password": PASSWORD})
    assert response.status_code == 422 and "from your account page" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TotpCredential)) == 2
    assert _events(app, "auth.totp_reset") == []
