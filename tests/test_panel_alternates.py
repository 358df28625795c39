"""Issue 15: a Panel alternate who is not a Panel member votes only while appointed, only instead of that member,
and is never counted as eligible in their own right."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from decisions_support import assess_all, cast, client_for, open_vote, recommend
from portal.access import Role
from portal.auth.models import User
from portal.decisions.models import Ballot, VoteMember
from portal.extensions import db
from portal.releases.models import Stage
from releases_html import page_text


@pytest.fixture
def outsider(app, make_user):
    """A Panel user marked as an alternate only (for instance a Panel member's deputy from their organisation)."""
    user = make_user(Role.PANEL, name="Alex Deputy")
    with app.app_context():
        db.session.get(User, user.id).alternate_only = True
        db.session.commit()
    return user


@pytest.fixture
def opened(app, users, make_release, outsider):
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    assert recommend(client_for(app, users["opsg_chair"]), release.code).status_code == 303
    assert open_vote(client_for(app, users["panel_chair"]), release.code).status_code == 303
    return release


def seats(app) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(sa.select(VoteMember.member_id)))


def test_an_alternate_only_user_holds_no_seat_and_is_not_counted(app, users, opened, outsider):
    assert seats(app) == {users["panel_chair"].id, users["panel"].id}
    page = page_text(client_for(app, users["panel_chair"]).get(f"/releases/{opened.code}/vote")
                     .get_data(as_text=True))
    assert "0 of 2 eligible members have voted" in page


def test_they_vote_only_while_appointed_and_only_instead_of_that_member(app, users, opened, outsider):
    deputy, member = client_for(app, outsider), client_for(app, users["panel"])
    # Not appointed: no ballot of their own, none for anyone.
    assert cast(deputy, opened.code, outsider).status_code in (403, 404, 409, 422)
    assert cast(deputy, opened.code, users["panel"]).status_code == 403
    # Appointed by a member: they vote in that member's seat, and only there.
    assert member.post_form(f"/releases/{opened.code}/vote/alternate",
                            {"alternate_id": str(outsider.id), "confirmed": "yes"}).status_code == 303
    assert cast(deputy, opened.code, users["panel_chair"]).status_code == 403
    assert cast(deputy, opened.code, users["panel"], "no_go").status_code == 303
    with app.app_context():
        [ballot] = db.session.scalars(sa.select(Ballot)).all()
        assert (ballot.member_id, ballot.cast_by_id) == (users["panel"].id, outsider.id)
    assert seats(app) == {users["panel_chair"].id, users["panel"].id}


def test_a_revoked_alternate_can_no_longer_vote(app, users, opened, outsider):
    deputy, member = client_for(app, outsider), client_for(app, users["panel"])
    assert member.post_form(f"/releases/{opened.code}/vote/alternate",
                            {"alternate_id": str(outsider.id), "confirmed": "yes"}).status_code == 303
    assert member.post_form(f"/releases/{opened.code}/vote/alternate/revoke",
                            {"confirmed": "yes"}).status_code == 303
    assert cast(deputy, opened.code, users["panel"]).status_code == 403
    with app.app_context():
        assert db.session.scalars(sa.select(Ballot)).all() == []


def test_an_alternate_cannot_appoint_an_alternate_or_declare_a_conflict(app, users, opened, outsider):
    deputy = client_for(app, outsider)
    assert deputy.post_form(f"/releases/{opened.code}/vote/alternate",
                            {"alternate_id": str(users["panel"].id), "confirmed": "yes"}).status_code == 403


@pytest.mark.parametrize("role, chair, message", [
    ("dcc", False, "Only SEC Panel users can be Panel alternates."),
    ("panel", True, "A Panel alternate cannot chair the Panel"),
])
def test_the_admin_marks_only_a_non_chair_panel_user_as_alternate_only(app, users, client, role, chair, message):
    client.login(users["secas"])
    data = {"email": "deputy@example.org", "name": "Dee Puty", "organisation": "A Supplier", "role": role,
            "alternate_only": "y"}
    if chair:
        data["is_chair"] = "y"
    response = client.post_form("/admin/users/new", data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "deputy@example.org")) is None
    data.update(role="panel")
    data.pop("is_chair", None)
    assert client.post_form("/admin/users/new", data).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "deputy@example.org")).alternate_only
    assert "Dee Puty" in client.get("/admin/users").get_data(as_text=True)
