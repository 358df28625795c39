"""In a real browser: upload evidence and see it listed without a reload; OpsG assesses and the grid changes."""
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.releases.models import Release, Stage

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_upload_then_assess_updates_in_place(page: Page, browser, app, live_server, sign_in, axe, screenshot,
                                             tmp_path):
    with app.app_context():
        release = db.session.scalar(sa.select(Release))
        release.stage = Stage.OPSG_REVIEW
        db.session.commit()
        criterion_url = f"{live_server}/releases/{release.code}/criteria/1"
    evidence_file = tmp_path / "toc-runbook.pdf"
    evidence_file.write_bytes(PDF)

    sign_in(page, "dcc.lead@example.org")
    page.goto(criterion_url)
    page.evaluate("window.notReloaded = true")
    page.get_by_label("File", exact=True).set_input_files(str(evidence_file))
    page.get_by_label("Description of the file").fill("TOC runbook")
    page.get_by_role("button", name="Upload file").click()
    expect(page.locator("#evidence-files")).to_contain_text("toc-runbook.pdf")
    assert page.evaluate("window.notReloaded") is True
    assert axe(page) == []
    screenshot(page, "evidence-uploaded")

    opsg = browser.new_context().new_page()
    sign_in(opsg, "opsg.member@example.org")
    opsg.goto(criterion_url)
    opsg.evaluate("window.notReloaded = true")
    cell = opsg.locator('#readiness-grid [data-criterion="1"]')
    expect(cell).to_contain_text("Not assessed")
    expect(opsg.locator("#criterion-evidence")).to_contain_text("toc-runbook.pdf")
    opsg.get_by_label("Met", exact=True).check()
    opsg.get_by_label("Rationale").fill("The runbook covers the TOC changes.")
    opsg.get_by_label("Final (signed; locks the criterion's evidence)").check()
    opsg.get_by_label("Your password (to sign a final assessment)").fill("demo-password-2021")
    opsg.get_by_role("button", name="Record assessment").click()
    expect(opsg.locator("#latest-assessment")).to_contain_text("Met")
    expect(cell).to_contain_text("Met")
    expect(opsg.locator("#readiness-counts")).to_contain_text("Met: 1")
    expect(opsg.locator("#criterion-evidence")).to_contain_text("locked")
    assert opsg.evaluate("window.notReloaded") is True
    assert axe(opsg) == []
    screenshot(opsg, "criterion-assessed")
