"""Signing in through a real browser, and the login page has no accessibility violations."""
from playwright.sync_api import Page, expect


def test_sign_in_and_see_the_release(page: Page, live_server, sign_in, axe, screenshot):
    page.goto(live_server + "/login")
    assert axe(page) == []
    screenshot(page, "login")
    sign_in(page, "dcc.lead@example.org")
    expect(page.get_by_role("link", name="February 2021 SEC Release")).to_be_visible()


def test_bad_password_shows_error_summary(page: Page, live_server):
    page.goto(live_server + "/login")
    page.get_by_label("Email address").fill("dcc.lead@example.org")
    page.get_by_label("Password", exact=True).fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a correct email address and password")
