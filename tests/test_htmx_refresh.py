"""After an htmx step the page refreshes what the step changed and says what happened, as without JavaScript:
the header's counts and the release page's RID version listen for `portal-changed`, and the step's message is
swapped into the page's message region."""
import pytest

from portal.releases.models import Stage
from tests.test_evidence_upload import PDF, upload


@pytest.fixture
def release(make_release):
    return make_release(Stage.EVIDENCE)


def test_an_htmx_upload_says_what_a_plain_upload_says(client, users, release):
    client.login(users["dcc"])
    response = upload(client, release, 1, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    triggers = [t.strip() for t in response.headers["HX-Trigger"].split(",")]
    assert {"criterion-changed", "portal-changed"} <= set(triggers)
    assert '<div id="portal-messages" aria-live="polite" hx-swap-oob="true">' in html
    assert "Uploaded" in html and "SHA-256" in html
    # Without JavaScript: the same message, after the redirect.
    response = upload(client, release, 1, content=PDF + b"% another\n", name="second.pdf")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Uploaded" in page and "SHA-256" in page


def test_a_refused_htmx_step_triggers_nothing(client, users, release):
    client.login(users["dcc"])
    response = upload(client, release, 1, htmx=True, description="")
    assert response.status_code == 422
    assert "portal-changed" not in response.headers.get("HX-Trigger", "")
    assert "hx-swap-oob" not in response.get_data(as_text=True)


def test_the_header_counts_reload_after_a_step(client, users, release):
    client.login(users["dcc"])
    page = client.get(f"/releases/{release.code}").get_data(as_text=True)
    assert 'hx-trigger="load, portal-changed from:body"' in page  # the task count
    fragment = client.get("/tasks/count", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="portal-task-count"' in fragment and 'hx-trigger="portal-changed from:body"' in fragment
    assert '<span id="portal-notification-link" hx-swap-oob="true">Notifications' in fragment


def test_the_rid_version_and_history_reload_from_the_release_page(client, users, release):
    client.login(users["secas"])
    page = client.get(f"/releases/{release.code}").get_data(as_text=True)
    for region in ("rid-version-caption", "rid-versions"):
        assert f'id="{region}" hx-get="/releases/{release.code}" hx-select="#{region}"' in page


def test_an_empty_statement_gets_the_error_summary(client, users, release):
    client.login(users["secas"])
    for htmx in (False, True):
        response = client.post_form(f"/releases/{release.code}/criteria/9/statement", {"text": "  "}, htmx=htmx)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, (response.status_code, html[:300])
        assert "There is a problem" in html and 'href="#text"' in html and "Enter the statement" in html, html[-3000:]
