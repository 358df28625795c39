"""A sign-in gate in a real browser, JavaScript on: the gate's page stays put with one header, then sign-in ends."""
import pyotp
from playwright.sync_api import Page, expect

from portal.access import Role
from portal.auth import services as auth_services
from portal.auth.totp_models import TwoFactorRole
from portal.extensions import db

HEADER = "header.govuk-template__header"


def _reloads_while_settling(page: Page) -> list[str]:
    """Wait as long as the page's own htmx needs, and return every page the tab went to meanwhile."""
    went_to = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and went_to.append(frame.url))
    page.wait_for_timeout(2000)
    return went_to


def _one_settled_header(page: Page) -> None:
    assert _reloads_while_settling(page) == []
    assert page.locator(HEADER).count() == 1


def test_first_sign_in_ends_on_a_page_with_one_header(page: Page, app, live_server, sign_in):
    with app.app_context():
        _, one_time = auth_services.create_user(None, email="new.person@example.org", name="New Person",
                                                organisation="DCC", role=Role.DCC)
        db.session.commit()
    sign_in(page, "new.person@example.org", one_time)
    expect(page).to_have_url(live_server + "/account/password")
    _one_settled_header(page)

    page.get_by_label("New password", exact=True).fill("a long new password")
    page.get_by_label("Confirm new password").fill("a long new password")
    page.get_by_role("button", name="Save password").click()
    expect(page).to_have_url(live_server + "/")
    expect(page.get_by_text("Your new password is saved.")).to_be_visible()
    _one_settled_header(page)
    # The count came in place of its loader (which alone loads on arrival), once.
    assert page.locator("[hx-get='/tasks/count'][hx-trigger*='load']").count() == 0
    assert page.locator("#portal-task-count").count() == 1


def test_required_two_factor_ends_on_a_page_with_one_header(page: Page, app, live_server, sign_in):
    with app.app_context():
        db.session.add(TwoFactorRole(role=Role.PANEL))
        db.session.commit()
    sign_in(page, "panel.member1@example.org")
    expect(page).to_have_url(live_server + "/account/two-factor")
    _one_settled_header(page)

    secret = page.locator(".govuk-details__text code.portal-hash").text_content()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(live_server + "/")
    _one_settled_header(page)
    assert page.locator("[hx-get='/tasks/count'][hx-trigger*='load']").count() == 0
    assert page.locator("#portal-task-count").count() == 1
