"""Sign-in gates (a first password, a required second factor): htmx is sent to the gate's page, never swapped."""
from __future__ import annotations

import pytest

from portal.access import Role
from portal.auth import services as auth_services
from portal.auth.totp_models import TwoFactorRole
from portal.extensions import db

from conftest import CSRF_RE, PortalClient

SET_PASSWORD, ENROL = "/account/password", "/account/two-factor"
HTMX = {"HX-Request": "true"}


@pytest.fixture(params=[SET_PASSWORD, ENROL])
def gated(request, app, make_user):
    """A signed-in client whose user must first visit the gate's page, and that page."""
    client = PortalClient(app)
    if request.param == SET_PASSWORD:
        with app.app_context():
            user, one_time = auth_services.create_user(None, email="new@example.org", name="New Person",
                                                       organisation="DCC", role=Role.DCC)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        client.login(user, one_time)
    else:
        with app.app_context():
            db.session.add(TwoFactorRole(role=Role.PANEL))
            db.session.commit()
        client.login(make_user(Role.PANEL))
    return client, request.param


def _token(client, gate: str) -> str:
    return CSRF_RE.search(client.get(gate).get_data(as_text=True)).group(1)


def test_htmx_get_is_sent_to_the_gate_without_a_body(gated):
    client, gate = gated
    response = client.get("/tasks/count", headers=HTMX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == gate
    assert "Location" not in response.headers  # a redirect htmx would follow and swap into the header
    assert response.get_data() == b""


def test_htmx_post_is_sent_to_the_gate_without_a_body(gated):
    client, gate = gated
    response = client.post("/notifications/read", data={"csrf_token": _token(client, gate)}, headers=HTMX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == gate
    assert "Location" not in response.headers
    assert response.get_data() == b""


def test_plain_requests_keep_their_redirect(gated):
    client, gate = gated
    assert client.get("/tasks/count").headers["Location"] == gate
    response = client.post("/notifications/read", data={"csrf_token": _token(client, gate)})
    assert response.status_code == 302 and response.headers["Location"] == gate


def test_the_gate_page_asks_nothing_by_htmx(gated):
    """The gate would send any fragment of its own page back to that page: a reload that never ends."""
    client, gate = gated
    page = client.get(gate)
    assert page.status_code == 200
    assert 'hx-get="/tasks/count"' not in page.get_data(as_text=True)
