"""The release page in a real browser: an inline htmx edit swaps the row in place, and the page passes axe."""
from playwright.sync_api import Page, expect


def test_secas_edits_a_milestone_inline_and_the_page_is_accessible(page: Page, live_server, sign_in, axe,
                                                                    screenshot):
    # conftest.no_csp_violations watches for CSP violations (issue 15: each swap logged one); so does the console.
    console = []
    page.on("console", lambda message: console.append(message.text))
    sign_in(page, "secas.admin@example.org")
    page.goto(live_server + "/releases/feb-2021")
    expect(page.get_by_role("heading", name="February 2021 SEC Release")).to_be_visible()
    violations = axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    screenshot(page, "release")

    # A marker on window survives only if the edit happens without a page load.
    page.evaluate("window.__noReload = true")
    row = page.locator("tr", has_text="DCC submits evidence against the operational acceptance criteria")
    row_id = row.get_attribute("id")
    row.get_by_role("link", name="Change").click()
    form_row = page.locator(f"#{row_id}")
    notes = form_row.get_by_label("Notes")
    expect(notes).to_be_visible()
    notes.fill("Evidence is due by noon.")
    form_row.get_by_role("button", name="Save").click()

    updated = page.locator(f"#{row_id}")
    expect(updated).to_contain_text("Evidence is due by noon.")
    expect(updated.get_by_role("link", name="Change")).to_be_visible()
    assert page.evaluate("window.__noReload") is True
    assert page.url.endswith("/releases/feb-2021")
    page.wait_for_timeout(300)  # the regions that refresh after the edit
    assert page.evaluate("window.__csp") == []
    assert [m for m in console if "Content Security Policy" in m] == []
