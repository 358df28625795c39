"""The SECAS admin's user pages in a real browser: accessible, and an invalid form shows the error summary."""
from playwright.sync_api import Page, expect


def test_admin_pages_are_accessible_and_show_errors(page: Page, live_server, sign_in, axe, screenshot):
    sign_in(page, "secas.admin@example.org")
    page.goto(live_server + "/admin/users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.get_by_role("cell", name="panel.chair@example.org")).to_be_visible()
    assert axe(page) == []
    screenshot(page, "admin-users")

    page.get_by_role("link", name="Add a user").click()
    page.get_by_role("button", name="Add user").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter an email address")
    expect(summary).to_be_focused()
    assert axe(page) == []
    screenshot(page, "admin-add-user-errors")


def test_sign_out_returns_to_the_login_page(page: Page, live_server, sign_in):
    sign_in(page, "panel.member1@example.org")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server + "/login")
    page.goto(live_server + "/")
    expect(page.get_by_role("heading", name="Sign in to the SEC Release Portal")).to_be_visible()
