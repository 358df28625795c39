"""Trust, second round: wrong passwords at signing are throttled and audited; a password change needs the current
password and is emailed; sessions end everywhere; the one-time password cannot be kept."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import CSRF_RE, PASSWORD, PortalClient
from decisions_support import assess_all, cast, client_for, count, open_vote, recommend

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.auth import services as auth_services, totp
from portal.auth.models import LoginAttempt, User
from portal.decisions import services as decision_services
from portal.decisions.models import Ballot, Recommendation, RecommendationKind
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.releases.models import Release, Stage
from portal.signatures import SigningLocked, WrongPassword

NEW_PASSWORD = "a brand new passphrase"


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def _mail_to(app, user) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxMessage.subject).where(OutboxMessage.to == user.email)
                                       .order_by(OutboxMessage.id)))


def _fail_sign_ins(app, user, n: int = 5) -> None:
    with app.app_context():
        db.session.add_all(LoginAttempt(email=user.email, succeeded=False) for _ in range(n))
        db.session.commit()


# --- B. Wrong passwords at signing --------------------------------------------------------------------

def test_twelve_wrong_ballot_passwords_then_the_right_one_is_refused_and_every_wrong_one_audited(
        app, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    recommend(client_for(app, users["opsg_chair"]), release.code)
    assert open_vote(client_for(app, users["panel_chair"]), release.code).status_code == 303
    member = users["panel"]
    client = client_for(app, member)
    answers = [cast(client, release.code, member, "go", password=f"guess {n}") for n in range(12)]
    assert {r.status_code for r in answers} == {422}
    assert all("not correct" in r.get_data(as_text=True) for r in answers[:5])
    assert all("Too many wrong passwords" in r.get_data(as_text=True) for r in answers[5:])
    right = cast(client, release.code, member, "go")
    assert right.status_code == 422 and "Too many wrong passwords" in right.get_data(as_text=True)
    assert count(app, Ballot) == 0
    # Counted with the sign-in throttle: signing in is refused too.
    assert PortalClient(app).post_form("/login", {"email": member.email, "password": PASSWORD}).status_code == 429
    wrong = _events(app, "signature.wrong_password")
    assert len(wrong) == 5 and {e.actor_id for e in wrong} == {member.id}
    assert count(app, LoginAttempt, LoginAttempt.email == member.email, LoginAttempt.succeeded.is_(False)) >= 5


def test_a_wrong_recommendation_password_is_audited_and_the_throttle_refuses_the_right_one(app, users,
                                                                                          make_release):
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    chair = users["opsg_chair"]
    with app.app_context():
        actor, row = db.session.get(User, chair.id), db.session.get(Release, release.id)
        with pytest.raises(WrongPassword):
            decision_services.record_recommendation(actor, row, kind=RecommendationKind.AS_PLANNED, conditions=[],
                                                    reasons="Met.", password="a wrong guess")
        db.session.rollback()
    assert len(_events(app, "signature.wrong_password")) == 1  # kept although the service's work rolled back
    _fail_sign_ins(app, chair)
    with app.app_context():
        actor, row = db.session.get(User, chair.id), db.session.get(Release, release.id)
        with pytest.raises(SigningLocked):
            decision_services.record_recommendation(actor, row, kind=RecommendationKind.AS_PLANNED, conditions=[],
                                                    reasons="Met.", password=PASSWORD)
    assert count(app, Recommendation) == 0


def test_two_factor_passwords_are_throttled_and_audited(app, users):
    admin, dcc = users["secas"], users["dcc"]
    with app.app_context():
        actor = db.session.get(User, dcc.id)
        with pytest.raises(WrongPassword):
            totp.disable_totp(actor, "a wrong guess")
        db.session.rollback()
        actor = db.session.get(User, admin.id)
        with pytest.raises(WrongPassword):
            totp.reset_totp(actor, db.session.get(User, dcc.id), "a wrong guess")
        db.session.rollback()
    assert {e.actor_id for e in _events(app, "signature.wrong_password")} == {admin.id, dcc.id}
    _fail_sign_ins(app, admin)
    with app.app_context():
        with pytest.raises(SigningLocked):
            totp.reset_totp(db.session.get(User, admin.id), db.session.get(User, dcc.id), PASSWORD)


# --- C. Changing one's password ----------------------------------------------------------------------

def _change_password(client, current: str | None, new: str = NEW_PASSWORD):
    data = {"password": new, "confirm": new,
            "csrf_token": CSRF_RE.search(client.get("/account/password").get_data(as_text=True)).group(1)}
    if current is not None:
        data["current_password"] = current
    return client.post_form("/account/password", data, token=False)


def test_a_password_change_needs_the_current_password_and_is_emailed(app, make_user):
    user = make_user(Role.DCC)
    client = client_for(app, user)
    assert "Current password" in client.get("/account/password").get_data(as_text=True)
    assert _change_password(client, None).status_code == 422
    wrong = _change_password(client, "not my password")
    assert wrong.status_code == 422 and "Enter your current password" in wrong.get_data(as_text=True)
    assert len(_events(app, "signature.wrong_password")) == 1
    assert _events(app, "user.password_set") == []
    assert _change_password(client, PASSWORD).status_code == 303
    assert len(_events(app, "user.password_set")) == 1
    assert _mail_to(app, user) == ["Your password was changed"]
    assert client.get("/tasks").status_code == 200  # this session goes on
    assert PortalClient(app).post_form("/login", {"email": user.email, "password": NEW_PASSWORD}).status_code == 302


def test_two_factor_changes_are_emailed(app, client, users):
    from test_trust_totp import enrol

    client.login(users["dcc"])
    enrol(client)
    assert client.post_form("/account/two-factor/disable", {"password": PASSWORD}).status_code == 303
    assert _mail_to(app, users["dcc"]) == ["Two-factor sign-in was set up", "Two-factor sign-in was turned off"]


# --- E. The one-time password -------------------------------------------------------------------------

def test_the_one_time_password_cannot_be_kept(app):
    with app.app_context():
        user, first_password = auth_services.create_user(
            None, email="new@example.org", name="New Person", organisation="DCC", role=Role.DCC)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
    client = PortalClient(app)
    assert client.post_form("/login", {"email": user.email, "password": first_password}).status_code == 302
    page = client.get("/account/password").get_data(as_text=True)
    assert "Current password" not in page  # the first sign-in needs no current password
    kept = _change_password(client, None, first_password)
    assert kept.status_code == 422
    assert "The one-time password you were given cannot be kept" in kept.get_data(as_text=True)
    assert _events(app, "user.password_set") == []
    assert _change_password(client, None).status_code == 303


# --- D. Sessions end everywhere -------------------------------------------------------------------------

def _copy(app, client: PortalClient) -> PortalClient:
    """Another browser holding a copy of the client's session cookie."""
    thief = PortalClient(app)
    thief.http.set_cookie("session", client.http.get_cookie("session").value)
    return thief


def test_a_copied_session_cookie_stops_working_at_sign_out(app, make_user):
    user = make_user(Role.DCC)
    client = client_for(app, user)
    thief = _copy(app, client)
    assert thief.get("/tasks").status_code == 200
    client.logout()
    assert thief.get("/tasks").status_code == 302


def test_a_password_change_ends_every_other_session(app, make_user):
    user = make_user(Role.DCC)
    client, elsewhere = client_for(app, user), client_for(app, user)
    thief = _copy(app, client)
    assert _change_password(client, PASSWORD).status_code == 303
    assert client.get("/tasks").status_code == 200
    assert elsewhere.get("/tasks").status_code == 302
    assert thief.get("/tasks").status_code == 302  # a copy taken before the change: only the changer goes on


def test_deactivation_and_sign_out_everywhere_end_every_session(app, users, make_user):
    user = make_user(Role.DCC)
    first = client_for(app, user)
    admin = client_for(app, users["secas"])
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Sign out everywhere" in page
    assert admin.post_form(f"/admin/users/{user.id}/sign-out").status_code == 303
    assert first.get("/tasks").status_code == 302
    [event] = _events(app, "user.signed_out_everywhere")
    assert event.actor_id == users["secas"].id and event.object_id == user.id
    # Signing in again works; deactivation ends that session too, and reactivation does not revive it.
    second = client_for(app, user)
    with app.app_context():
        actor, row = db.session.get(User, users["secas"].id), db.session.get(User, user.id)
        auth_services.update_user(actor, row, name=row.name, organisation=row.organisation, role=row.role,
                                  is_admin=False, is_chair=False, active=False)
        db.session.commit()
        row.active = True
        db.session.commit()
    assert second.get("/tasks").status_code == 302
