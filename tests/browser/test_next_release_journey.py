"""Issue 13, done when: from the demo, SECAS creates the June 2021 SEC Release from the February release as its
template, adds two modifications and a DCC Change Request, fills every section, the Panel chair baselines it, and a
modification moves from February to June. All in the browser, by the labels a person reads (JavaScript on, so each
"Add" form opens in place and saves without a page load)."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

SECAS, PANEL_CHAIR = "secas.admin@example.org", "panel.chair@example.org"
JUNE = "/releases/jun-2021"


@pytest.fixture
def app_config(app_config):
    # The demo as it stood in January 2021: June 2021 is a future go-live.
    return {**app_config, "PORTAL_TODAY": "2021-01-11"}


def add(page: Page, link: str, fields: dict[str, str], radios: tuple[str, ...] = (), date: tuple | None = None,
        saved: str = ""):
    """Open an "Add …" link's form in place, fill it by its labels, save, and wait for the row it adds (`saved`:
    text that is on the page only once the row is)."""
    page.get_by_role("link", name=link).click()
    form = page.locator("form", has=page.get_by_role("button", name="Save"))
    for label, value in fields.items():
        form.get_by_label(label, exact=True).fill(value)
    for label in radios:
        form.get_by_label(label, exact=True).check()
    if date:
        group = form.get_by_role("group", name=date[0])
        for part, value in zip(("Day", "Month", "Year"), date[1:]):
            group.get_by_label(part).fill(value)
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#rid-document")).to_contain_text(saved or next(iter(fields.values())))


def test_secas_starts_june_from_february_writes_its_rid_the_panel_baselines_it_and_an_mp_moves(
        browser, live_server, sign_in):
    secas = sign_in(browser.new_page(), SECAS)
    secas.goto(live_server + "/")
    secas.get_by_role("link", name="Create a release").click()
    secas.get_by_label("Start from").select_option(label="February 2021 SEC Release")
    secas.get_by_label("Code", exact=True).fill("jun-2021")
    secas.get_by_label("Name", exact=True).fill("June 2021 SEC Release")
    go_live = secas.get_by_role("group", name="Planned go-live date")
    for part, value in (("Day", "24"), ("Month", "6"), ("Year", "2021")):
        go_live.get_by_label(part).fill(value)
    secas.get_by_label("SEC version to be published").fill("SEC v40.0")
    secas.get_by_role("button", name="Create the release").click()
    expect(secas.get_by_role("heading", level=1)).to_have_text("June 2021 SEC Release")
    expect(secas.locator("#rid-version-caption")).to_contain_text("RID version 0.1")
    # The template's criteria, glossary and timeline came across (the go-live on the new date).
    expect(secas.locator("#rid-criteria")).to_contain_text("SECAS has brought to readiness")
    expect(secas.locator("#rid-timeline")).to_contain_text("24 June 2021")

    # Two modifications, a Change Request, and every other section.
    add(secas, "Add a modification to the scope",
        {"Modification reference": "MP150", "Title (optional)": "Faster switching",
         "Summary": "proposes to shorten the switching window."}, radios=("Targeted",),
        date=("Decision cut-off date", "20", "5", "2021"), saved="MP150")
    add(secas, "Add a modification to the scope",
        {"Modification reference": "MP151", "Title (optional)": "Clearer alerts",
         "Summary": "proposes clearer alert codes."}, radios=("Approved",), saved="MP151")
    add(secas, "Add a DCC Change Request", {"Change Request reference": "CR1234", "Title": "Alert code catalogue"})
    add(secas, "Add an impact summary", {"Participant or area impacted": "Suppliers",
                                         "Summary of impacts": "Suppliers update their alert handling."},
        radios=("SEC Parties",), saved="Suppliers update their alert handling.")
    add(secas, "Add an impact on another Code", {"Code impacted": "REC",
                                                "How it is impacted": "The switching window changes."},
        saved="The switching window changes.")
    add(secas, "Add a cost", {"Description": "DCC implementation of MP150", "Amount in pounds": "120,000"},
        radios=("DCC", "Estimated (“estimated to be £340,000”)", "No"), saved="Estimated to be £120,000")
    add(secas, "Add a glossary entry", {"Acronym": "REC", "Full term": "Retail Energy Code"}, saved="Retail Energy Code")
    # A section's narrative, and a test phase that applies this time.
    secas.get_by_text("Change the RID's narrative text").click()
    secas.get_by_role("link", name="Test strategy: narrative").click()
    narrative = secas.locator("form", has=secas.get_by_role("button", name="Save"))
    narrative.get_by_role("textbox", name="Test strategy: narrative").fill("MP150 changes the DCC's switching interface, so SIT is required.")
    narrative.get_by_role("button", name="Save").click()
    rid = secas.locator("#rid-document")
    expect(rid).to_contain_text("MP150 changes the DCC's switching interface, so SIT is required.")
    secas.locator("#rid-test-phases tr", has_text="(SIT)").get_by_role("link", name="Change").click()
    phase = secas.locator("form", has=secas.get_by_role("button", name="Save"))
    phase.get_by_label("Yes").check()
    phase.get_by_label("Reason").fill("MP150 changes a DCC interface.")
    phase.get_by_role("button", name="Save").click()
    expect(secas.locator("#rid-test-phases tr", has_text="(SIT)")).to_contain_text("Required")
    for sentence in ("There are no modifications currently approved", "There are no DCC Change Requests planned",
                     "No other Codes are impacted"):
        expect(rid).not_to_contain_text(sentence)  # derived from the data, which now has them

    # The Panel chair baselines June's RID at a Panel meeting.
    chair = sign_in(browser.new_page(), PANEL_CHAIR)
    chair.goto(live_server + JUNE)
    chair.locator("#workflow-actions").get_by_role("button", name="Baseline the RID").click()
    meeting = chair.get_by_role("group", name="Date of the Panel meeting")
    for part, value in (("Day", "8"), ("Month", "1"), ("Year", "2021")):
        meeting.get_by_label(part).fill(value)
    chair.get_by_label("Minute reference").fill("90/04")
    chair.get_by_role("button", name="Baseline the RID").click()
    expect(chair.locator("#rid-version-caption")).to_contain_text("RID version 1.0")

    # SECAS moves MP092 from February to June: both RIDs say so, June's gets a new version.
    secas.goto(live_server + "/releases/feb-2021")
    secas.locator("tr", has_text="MP092").get_by_role("link", name="Move to another release").click()
    secas.get_by_label("Release it moves to").select_option(label="June 2021 SEC Release")
    secas.get_by_label("Change note").fill("MP092 moves to the June 2021 release.")
    secas.get_by_role("button", name="Move the modification").click()
    expect(secas.locator("tr", has_text="MP092")).to_contain_text("Moved to June 2021 SEC Release")
    secas.goto(live_server + JUNE)
    expect(secas.locator("#rid-scope tr", has_text="MP092")).to_contain_text("Targeted")
    expect(secas.locator("#rid-version-caption")).to_contain_text("RID version 1.1")
    expect(secas.locator("#rid-versions")).to_contain_text("MP092 moves to the June 2021 release.")
