"""The February 2021 release from draft RID to Live in a real browser, each step taken by its own person through
the labels they read: the "Next step" buttons, the links in My tasks, the form fields and their buttons.

1. Go: baseline, evidence, OpsG assessments, recommendation, vote, decision, go-live confirmations.
2. No-go: criterion 8 is Not met and the Panel votes No-go; SECAS re-plans, round 2 reopens criterion 8, the DCC
   adds new evidence for it, OpsG assesses it Met, and the second vote is Go.

At each hand-over the release page says who acts next, and the "Next step" box offers the step's button to the
person who may take it and to no one else. Where a step repeats for many criteria most of them go through the HTTP
client (as the same users), one of each through the browser.
"""
from __future__ import annotations

import datetime as dt
import types

from conftest import PortalClient
from playwright.sync_api import Browser, Page, expect

from portal.releases import demo
from portal.timeutil import is_working_day

CODE = demo.RELEASE_CODE
RELEASE = f"/releases/{CODE}"
PASSWORD = demo.DEMO_PASSWORD
PANEL_CHAIR, PANEL_1, PANEL_2 = "panel.chair@example.org", "panel.member1@example.org", "panel.member2@example.org"
DCC, SECAS = "dcc.lead@example.org", "secas.admin@example.org"
OPSG, OPSG_CHAIR = "opsg.member@example.org", "opsg.chair@example.org"
DCC_CRITERIA = range(1, 9)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Journey:
    """One signed-in browser page per person (and an HTTP client each for the repeated steps)."""

    def __init__(self, app, browser: Browser, live_server: str, sign_in):
        self.app, self.browser, self.base, self.sign_in = app, browser, live_server, sign_in
        self.pages: dict[str, Page] = {}
        self.clients: dict[str, PortalClient] = {}
        self.check_others = True  # whether each step also checks that the others are not offered its button

    def page(self, email: str) -> Page:
        if email not in self.pages:
            context = self.browser.new_context()
            context.set_default_timeout(10_000)
            self.pages[email] = self.sign_in(context.new_page(), email)
        return self.pages[email]

    def http(self, email: str) -> PortalClient:
        if email not in self.clients:
            self.clients[email] = PortalClient(self.app)
            self.clients[email].login(types.SimpleNamespace(email=email), PASSWORD)
        return self.clients[email]

    def post(self, email: str, url: str, data: dict) -> None:
        response = self.http(email).post_form(RELEASE + url, data)
        assert response.status_code in (200, 303), (url, response.status_code)

    def release(self, email: str) -> Page:
        page = self.page(email)
        page.goto(self.base + RELEASE)
        return page

    def step(self, who: list[str], button: str, to: str, not_to: tuple[str, ...] = (), stage: str = "") -> Page:
        """Where the release stands (as `to` sees it), and `button` offered to `to` only: `to`'s release page."""
        page = self.release(to)
        expect_standing(page, who, stage)
        expect(next_step(page).get_by_role("button", name=button, exact=True)).to_be_visible()
        for other in not_to if self.check_others else ():
            expect(self.release(other).get_by_role("button", name=button, exact=True)).to_have_count(0)
        return page


def standing(page: Page, key: str):
    """The value of one row of "Where this release stands"."""
    row = page.locator(".govuk-summary-card", has=page.get_by_role("heading", name="Where this release stands")) \
        .locator(".govuk-summary-list__row").filter(has=page.get_by_text(key, exact=True))
    return row.locator("dd")


def expect_standing(page: Page, who: list[str], stage: str = "") -> None:
    if who:
        expect(standing(page, "Who acts next").get_by_role("listitem")).to_have_text(who)
    else:
        expect(standing(page, "Who acts next")).to_have_text("No one: nothing is waiting.")
    if stage:
        expect(standing(page, "Stage")).to_have_text(stage)


def next_step(page: Page):
    return page.locator(".govuk-summary-card", has=page.get_by_role("heading", name="Next step"))


# --- The steps ---------------------------------------------------------------------------------------------

def baseline(j: Journey) -> None:
    page = j.step(["SEC Panel chair: Baseline the RID"], "Baseline the RID", PANEL_CHAIR,
                  not_to=(PANEL_1, SECAS), stage="Draft RID")
    next_step(page).get_by_role("button", name="Baseline the RID").click()
    # What cannot be undone is confirmed with the Panel meeting that decided it.
    expect(page.get_by_text("Baselining cannot be undone.")).to_be_visible()
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("8")
    page.get_by_label("Year").fill("2020")
    page.get_by_label("Minute reference").fill("84/03")
    page.get_by_role("button", name="Baseline the RID").click()
    expect(page.get_by_text("RID version 1.0 is the baseline.")).to_be_visible()
    expect(page.get_by_text("Panel meeting of 14 August 2020, minute 84/03.")).to_be_visible()
    expect_standing(page, ["DCC: Add evidence for criteria 1, 2, 3, 4, 5, 6, 7, 8",
                           "SECAS: Add evidence for criteria 9, 10"], "Evidence gathering")


def write_statement(page: Page, text: str) -> None:
    """On a criterion page: the owner's written statement, saved in place."""
    page.get_by_label("Written statement").fill(text)
    page.get_by_role("button", name="Save statement").click()
    expect(page.locator("#criterion-evidence")).to_contain_text(text)


def submit(j: Journey, email: str, button: str, who: list[str], not_to: tuple[str, ...]) -> Page:
    page = j.step(who, "Submit your evidence", email, not_to=not_to)
    next_step(page).get_by_role("button", name="Submit your evidence").click()
    expect(page.get_by_role("heading", name="Check your evidence before you submit")).to_be_visible()
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", name="Acceptance criteria", exact=True)).to_be_visible()
    return page


def gather_round_1(j: Journey) -> None:
    """Each owner writes a statement for each of its criteria (the first through the browser), then submits."""
    page = j.step(["DCC: Add evidence for criteria 1, 2, 3, 4, 5, 6, 7, 8", "SECAS: Add evidence for criteria 9, 10"],
                  "Add evidence for criterion 1", DCC, not_to=(SECAS, OPSG))
    next_step(page).get_by_role("button", name="Add evidence for criterion 1", exact=True).click()
    expect(page.get_by_role("heading", name="Criterion 1", exact=True)).to_be_visible()
    write_statement(page, "The TOC runbook and the service design are complete.")
    for number in DCC_CRITERIA[1:]:
        j.post(DCC, f"/criteria/{number}/statement", {"text": f"The DCC's evidence for criterion {number}."})
    # The DCC can submit now, whatever SECAS still has to do; only the DCC is offered the button.
    page = submit(j, DCC, "Submit DCC evidence",
                  ["SECAS: Add evidence for criteria 9, 10", "DCC: Submit your evidence"], not_to=(SECAS, OPSG))
    expect(page.get_by_text("DCC: submitted by Dana Clarke")).to_be_visible()

    page = j.release(SECAS)
    next_step(page).get_by_role("button", name="Add evidence for criterion 9", exact=True).click()
    write_statement(page, "SECAS has drafted the legal text for the SEC changes.")
    j.post(SECAS, "/criteria/10/statement", {"text": "SECAS's components are ready."})
    page = submit(j, SECAS, "Confirm SECAS evidence", ["SECAS: Submit your evidence"], not_to=(DCC,))
    expect(page.get_by_text("SECAS: confirmed by Sam Patel")).to_be_visible()


def assess_in_browser(page: Page, number: int, status: str, rationale: str) -> None:
    """OpsG's signed final assessment on the criterion page, from the "Assess criterion N" button."""
    next_step(page).get_by_role("button", name=f"Assess criterion {number}", exact=True).click()
    expect(page.get_by_role("heading", name=f"Criterion {number}", exact=True)).to_be_visible()
    page.get_by_label(status, exact=True).check()
    page.get_by_label("Rationale").fill(rationale)
    page.get_by_label("Final (signed; locks the criterion's evidence)").check()
    page.get_by_label("Your password (to sign a final assessment)").fill(PASSWORD)
    page.get_by_role("button", name="Record assessment").click()
    expect(page.locator("#latest-assessment")).to_contain_text(f"{status} Final assessment")


def assess(j: Journey, in_browser: int, status: str, others: list[int], who: str) -> None:
    page = j.step([f"OpsG: {who}"], f"Assess criterion {in_browser}", OPSG, not_to=(DCC,), stage="OpsG review")
    assess_in_browser(page, in_browser, status, "Seen in the evidence pack and at the OpsG meeting.")
    for number in others:
        j.post(OPSG, f"/criteria/{number}/assessments", {"status": "met", "rationale": "The evidence is sufficient.",
                                                        "kind": "final", "password": PASSWORD})


def recommend(j: Journey, kind: str) -> None:
    page = j.step(["OpsG chair: Record the OpsG recommendation"], "Record the OpsG recommendation", OPSG_CHAIR,
                  not_to=(OPSG,))
    next_step(page).get_by_role("button", name="Record the OpsG recommendation").click()
    page.get_by_label(kind, exact=True).check()
    page.get_by_label("Reasons").fill("OpsG has reviewed every criterion.")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign and record the recommendation").click()
    expect(page.get_by_text(f"OpsG recommendation: {kind}")).to_be_visible()


def vote(j: Journey, choice: str, outcome: str) -> None:
    """The chair opens the vote, three of the five members vote `choice`, the chair closes it and records it."""
    page = j.step(["SEC Panel chair: Open the Panel vote"], "Open the Panel vote", PANEL_CHAIR, not_to=(PANEL_1,))
    next_step(page).get_by_role("button", name="Open the Panel vote").click()
    page.get_by_role("button", name="Open the Panel vote").click()
    expect(page.get_by_test_id("tally-count")).to_contain_text("0 of 5 eligible members have voted")

    for email in (PANEL_CHAIR, PANEL_1, PANEL_2):
        page = j.step(["SEC Panel: Vote go/no-go"], "Vote go/no-go", email, stage="Panel go/no-go vote",
                      not_to=(OPSG_CHAIR,) if email == PANEL_CHAIR else ())
        if email == PANEL_CHAIR:  # no quorum yet: the chair is told why the vote cannot close, with no button
            expect(next_step(page).get_by_text("Close the vote: not yet. No quorum yet")).to_be_visible()
            expect(page.get_by_role("button", name="Close the vote")).to_have_count(0)
        next_step(page).get_by_role("button", name="Vote go/no-go").click()
        page.get_by_label(choice, exact=True).check()
        page.get_by_label("Your password").fill(PASSWORD)
        page.get_by_role("button", name="Sign and cast the vote").click()
        expect(page.get_by_test_id("my-ballot")).to_contain_text(f"You voted {choice}")

    page = j.step(["SEC Panel: Vote go/no-go", "SEC Panel chair: Close the vote"], "Close the vote", PANEL_CHAIR,
                  not_to=(PANEL_1,))
    next_step(page).get_by_role("button", name="Close the vote").click()
    page.get_by_role("button", name="Close the vote").click()
    expect(page.get_by_role("heading", name="Close the vote now?")).to_be_visible()
    expect(page.get_by_role("heading", name="Not voted yet")).to_be_visible()
    expect(page.get_by_test_id("confirm-list").get_by_role("listitem")).to_have_count(2)  # 3 of the 5 voted
    page.get_by_role("button", name="Close the vote").click()
    expect(page.get_by_test_id("outcome")).to_contain_text(f"Outcome: {outcome}")

    page = j.step(["SEC Panel chair: Record the Panel's decision"], "Record the Panel's decision", PANEL_CHAIR,
                  not_to=(PANEL_1,))
    next_step(page).get_by_role("button", name="Record the Panel's decision").click()
    page.get_by_label("The Panel's reasons").fill(f"The Panel voted {outcome}.")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign and record the decision").click()
    expect(page.get_by_text(f"Panel decision: {outcome}", exact=True)).to_be_visible()


def confirm(page: Page, button: str, sec_version: str = "") -> None:
    next_step(page).get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", name="Go-live confirmations")).to_be_visible()
    if sec_version:
        page.get_by_label("New SEC version").fill(sec_version)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign and confirm").click()
    expect(page.get_by_role("heading", name="Recommendation, vote and decision")).to_be_visible()


def go_live(j: Journey) -> None:
    ready = "Confirm: SECAS ready to implement on the agreed date"
    sec = "Confirm: SEC changes implemented (new SEC version)"
    deployed = "Confirm: DCC deployment confirmed"
    # The DCC is told why it cannot confirm yet (no button); then SECAS's page, to click on.
    expect(next_step(j.release(DCC)).get_by_text(f"{deployed}: not yet. SECAS must first confirm")).to_be_visible()
    page = j.step([f"SECAS: {ready}"], ready, SECAS, not_to=(DCC, PANEL_CHAIR), stage="Approved to go live")
    confirm(page, ready)
    confirm(j.step([f"SECAS: {sec}", f"DCC: {deployed}"], sec, SECAS, not_to=(DCC,)), sec, "SEC v40.0")
    confirm(j.step([f"DCC: {deployed}"], deployed, DCC, not_to=(SECAS,)), deployed)

    for email in (DCC, OPSG):
        page = j.release(email)
        # Live: what is left is SECAS's, publishing the notice the portal drafted; nothing is the DCC's or OpsG's.
        expect_standing(page, ["SECAS: Publish the go-live notice"], "Live")
        expect(next_step(page)).to_have_count(0)
    expect(page.get_by_text("SEC changes implemented (new SEC version): SEC v40.0")).to_be_visible()


# --- The journeys ------------------------------------------------------------------------------------------

def test_go_from_draft_rid_to_live(app, browser: Browser, live_server, sign_in):
    j = Journey(app, browser, live_server, sign_in)
    baseline(j)
    gather_round_1(j)
    assess(j, 1, "Met", list(range(2, 11)), "Assess criteria 1, 2, 3, 4, 5, 6, 7, 8, 9, 10")
    recommend(j, "Implement as planned")
    vote(j, "Go", "Go")
    go_live(j)


def test_no_go_then_round_2_then_go(app, browser: Browser, live_server, sign_in, tmp_path):
    j = Journey(app, browser, live_server, sign_in)
    j.check_others = False  # round 1 offers each step to the same people as the Go journey, which checks that
    baseline(j)
    gather_round_1(j)
    assess(j, 8, "Not met", [1, 2, 3, 4, 5, 6, 7, 9, 10], "Assess criteria 1, 2, 3, 4, 5, 6, 7, 8, 9, 10")
    recommend(j, "Do not implement as planned")
    vote(j, "No-go", "No-go")
    j.check_others = True

    # Deferred: SECAS re-plans from My tasks; OpsG could reopen more criteria, but criterion 8 reopens itself.
    replan = "Re-plan the deferred release: set a new go-live date"
    j.step(["OpsG: Choose criteria to reopen", f"SECAS: {replan}"], replan, SECAS, not_to=(OPSG, DCC),
           stage="Deferred")
    page = j.page(SECAS)
    page.get_by_role("link", name="My tasks").click()
    page.get_by_role("link", name=replan).click()
    new_date = dt.date(2021, 2, 25) + dt.timedelta(weeks=4)
    while not is_working_day(new_date):
        new_date += dt.timedelta(days=1)
    page.get_by_label("Day").fill(str(new_date.day))
    page.get_by_label("Month").fill(str(new_date.month))
    page.get_by_label("Year").fill(str(new_date.year))
    page.get_by_label("Change note for the new RID version").fill("Deferred after the Panel's No-go.")
    page.get_by_role("button", name="Re-plan and return to evidence gathering").click()
    expect(page.get_by_text("Reopened after the No-go: criteria 8.")).to_be_visible()

    # Round 2: only criterion 8 is open again, and only the DCC has something to do.
    page = j.step(["DCC: Add evidence for criterion 8"], "Add evidence for criterion 8", DCC, not_to=(SECAS,),
                  stage="Evidence gathering")
    expect(standing(page, "Round")).to_have_text("2")
    expect(standing(page, "Planned go-live")).to_have_text(f"{new_date.day} {new_date:%B %Y}")
    page.get_by_role("link", name="My tasks").click()
    tasks = page.get_by_role("main")
    expect(tasks.get_by_role("link", name="Add evidence for criterion 8", exact=True)).to_be_visible()
    expect(tasks.get_by_role("link", name="Add evidence for criterion 1", exact=True)).to_have_count(0)
    tasks.get_by_role("link", name="Add evidence for criterion 8", exact=True).click()
    expect(page.get_by_role("heading", name="Criterion 8", exact=True)).to_be_visible()
    evidence = tmp_path / "bcdr-assurance-report.pdf"
    evidence.write_bytes(PDF)
    page.get_by_label("File", exact=True).set_input_files(str(evidence))
    page.get_by_label("Description of the file").fill("The completed BCDR assurance report")
    page.get_by_role("button", name="Upload file").click()
    expect(page.locator("#evidence-files")).to_contain_text("bcdr-assurance-report.pdf")
    submit(j, DCC, "Submit DCC evidence", ["DCC: Submit your evidence"], not_to=(SECAS,))

    assess(j, 8, "Met", [], "Assess criterion 8")
    j.check_others = False  # from here the steps are offered as in the Go journey
    recommend(j, "Implement as planned")
    vote(j, "Go", "Go")
    go_live(j)
    page = j.page(OPSG)
    page.goto(live_server + RELEASE + "/criteria/8")
    expect(page.get_by_text("Trend: Not met → Met")).to_be_visible()
