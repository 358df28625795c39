"""The portal starts, the demo loads, and a demo user can sign in and see the release."""
from portal.access import Role


def test_login_and_see_release(client, make_user, make_release):
    release = make_release()
    user = make_user(Role.DCC)
    client.login(user)
    page = client.get("/").get_data(as_text=True)
    assert release.name in page


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
