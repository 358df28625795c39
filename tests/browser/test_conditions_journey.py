"""A condition tracked in a real browser, by the labels people read: OpsG recommends "implement subject to
conditions" while reading the criteria summary, the Panel decides Go, SECAS is told go-live waits on the condition,
the DCC marks it met with a file from My tasks, OpsG accepts it from My tasks, and then the release goes live."""
from __future__ import annotations

import types

import sqlalchemy as sa
from conftest import PortalClient
from playwright.sync_api import Browser, Page, expect

from portal.auth.models import User
from portal.criteria.models import AssessmentKind, AssessmentStatus
from portal.criteria.services import assess_criterion
from portal.extensions import db
from portal.releases import demo
from portal.releases.models import Release, Stage

CODE = demo.RELEASE_CODE
RELEASE = f"/releases/{CODE}"
PASSWORD = demo.DEMO_PASSWORD
PANEL = ("panel.chair@example.org", "panel.member1@example.org", "panel.member2@example.org")
DCC, SECAS = "dcc.lead@example.org", "secas.admin@example.org"
OPSG, OPSG_CHAIR = "opsg.member@example.org", "opsg.chair@example.org"
CONDITION = "Deploy the fix for defect 42 to production."
PDF = b"%PDF-1.4\n% the deployment report\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
READY = "Confirm: SECAS ready to implement on the agreed date"


def http(app, email: str) -> PortalClient:
    client = PortalClient(app)
    client.login(types.SimpleNamespace(email=email), PASSWORD)
    return client


def post(app, email: str, url: str, data: dict | None = None) -> None:
    response = http(app, email).post_form(RELEASE + url, data or {})
    assert response.status_code in (200, 303), (url, response.status_code)


def next_step(page: Page):
    return page.locator(".govuk-summary-card", has=page.get_by_role("heading", name="Next step"))


def open_task(page: Page, base: str, title: str) -> None:
    page.goto(base + "/tasks")
    page.get_by_role("main").get_by_role("link", name=title, exact=True).click()


def test_a_condition_from_the_recommendation_to_acceptance_then_go_live(app, browser: Browser, live_server,
                                                                        sign_in, tmp_path, axe, screenshot):
    with app.app_context():  # OpsG review, every criterion assessed Met
        release = db.session.scalar(sa.select(Release).where(Release.code == CODE))
        release.stage = Stage.OPSG_REVIEW
        assessor = db.session.scalar(sa.select(User).where(User.email == OPSG))
        for criterion in release.criteria:
            assess_criterion(assessor, criterion, AssessmentStatus.MET, "The evidence is sufficient.",
                             AssessmentKind.FINAL, PASSWORD)
        db.session.commit()

    def person(email: str) -> Page:
        context = browser.new_context()
        context.set_default_timeout(10_000)
        return sign_in(context.new_page(), email)

    # OpsG's chair writes the recommendation beside the criteria summary, with one condition for the DCC.
    page = person(OPSG_CHAIR)
    page.goto(live_server + RELEASE)
    next_step(page).get_by_role("button", name="Record the OpsG recommendation").click()
    summary = page.get_by_test_id("criteria-summary")
    expect(summary.get_by_role("columnheader", name="Final assessment")).to_be_visible()
    expect(summary.get_by_role("row")).to_have_count(11)  # the header and criteria 1-10, each Met
    screenshot(page, "recommendation-with-criteria-summary")
    page.get_by_label("Implement subject to conditions", exact=True).check()
    page.get_by_label("Conditions the DCC must meet (one on each line)").fill(CONDITION)
    page.get_by_label("Reasons").fill("Every criterion is met; one defect fix is still to deploy.")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign and record the recommendation").click()
    expect(page.get_by_test_id("conditions")).to_contain_text(f"{CONDITION} (DCC) Open")

    # The Panel votes Go (through HTTP, as the Panel's own journeys test the vote in the browser).
    post(app, PANEL[0], "/vote/open", {"closes_at": ""})
    for email in PANEL:
        with app.app_context():
            member_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        post(app, email, "/vote/ballot", {"member_id": str(member_id), "choice": "go", "comment": "",
                                          "password": PASSWORD})
    post(app, PANEL[0], "/vote/close", {"confirmed": "yes"})
    post(app, PANEL[0], "/vote/decision", {"reasons": "Go, subject to OpsG's condition.", "password": PASSWORD})

    # SECAS cannot confirm readiness yet, and is told which condition go-live waits on.
    secas = person(SECAS)
    secas.goto(live_server + RELEASE)
    expect(next_step(secas).get_by_text(f"{READY}: not yet. Go-live waits until OpsG accepts every condition"))\
        .to_contain_text(f"condition 1 (DCC: {CONDITION}) is open")
    expect(next_step(secas).get_by_role("button", name=READY)).to_have_count(0)

    # The DCC marks it met from My tasks, with a statement and a file (htmx swaps the conditions in place).
    dcc = person(DCC)
    open_task(dcc, live_server, "Mark condition 1 as met")
    expect(dcc.get_by_role("heading", name="Conditions", exact=True)).to_be_visible()
    report = tmp_path / "deployment-report.pdf"
    report.write_bytes(PDF)
    dcc.get_by_label("How condition 1 has been met").fill("The fix was deployed on 10 February.")
    dcc.get_by_label("Supporting file for condition 1 (optional)").set_input_files(str(report))
    dcc.get_by_role("button", name="Mark condition 1 as met").click()
    conditions = dcc.locator("#conditions")
    expect(conditions.get_by_test_id("condition-state-1")).to_have_text("Met, waiting for OpsG")
    expect(conditions.get_by_role("link", name="deployment-report.pdf")).to_be_visible()
    expect(dcc.get_by_role("button", name="Mark condition 1 as met")).to_have_count(0)
    assert axe(dcc) == []
    screenshot(dcc, "condition-met")

    # OpsG accepts it from My tasks.
    opsg = person(OPSG)
    open_task(opsg, live_server, "Accept condition 1 as met")
    expect(opsg.get_by_text("The fix was deployed on 10 February.")).to_be_visible()
    opsg.get_by_role("button", name="Accept condition 1 as met").click()
    expect(opsg.get_by_test_id("condition-state-1")).to_have_text("Accepted by OpsG")
    expect(opsg.get_by_test_id("conditions-settled")).to_have_text("Every condition has been accepted or waived.")

    # Now go-live: SECAS's two confirmations and the DCC's deployment.
    for who, button, sec_version in ((secas, READY, ""),
                                     (secas, "Confirm: SEC changes implemented (new SEC version)", "SEC v40.0"),
                                     (dcc, "Confirm: DCC deployment confirmed", "")):
        who.goto(live_server + RELEASE)
        next_step(who).get_by_role("button", name=button).click()
        if sec_version:
            who.get_by_label("New SEC version").fill(sec_version)
        who.get_by_label("Your password").fill(PASSWORD)
        who.get_by_role("button", name="Sign and confirm").click()
        expect(who.get_by_role("heading", name="Recommendation, vote and decision")).to_be_visible()
    dcc.goto(live_server + RELEASE)
    expect(dcc.get_by_test_id("conditions")).to_contain_text(f"{CONDITION} (DCC) Accepted by OpsG")
    with app.app_context():
        assert db.session.scalar(sa.select(Release.stage).where(Release.code == CODE)) == Stage.LIVE
