"""In a real browser: SECAS uploads the February 2021 RID, checks the review screen (axe-core finds nothing, with
and without a warning) and confirms; a file that is not a RID shows the error summary."""
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.releases.models import Release
from test_rid_import_reader import FEB_2021


def test_upload_review_and_confirm_a_rid(page: Page, app, live_server, sign_in, axe, screenshot, tmp_path):
    sign_in(page, "secas.admin@example.org")
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Import a RID document").click()
    expect(page.get_by_label("RID document")).to_be_visible()  # the new page, not the one being left
    assert axe(page) == []

    bad = tmp_path / "minutes.txt"
    bad.write_text("Minutes of the meeting\n")
    page.get_by_label("RID document").set_input_files(str(bad))
    page.get_by_role("button", name="Read the document").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The file does not read as a RID")
    assert axe(page) == []

    noted = tmp_path / "rid-with-a-note.txt"
    noted.write_text(FEB_2021.read_text(encoding="utf-8").replace(
        "implementation of this release. \n", "implementation of this release. \n\nPlease recycle this document.\n", 1),
        encoding="utf-8")
    page.get_by_label("RID document").set_input_files(str(noted))
    page.get_by_role("button", name="Read the document").click()
    expect(page.locator(".govuk-warning-text")).to_contain_text("1 line of the document could not be placed")
    expect(page.locator("#warnings")).to_contain_text("Please recycle this document.")
    assert axe(page) == []
    screenshot(page, "rid-import-review-warning")
    page.get_by_role("link", name="Upload another document").click()

    page.get_by_label("RID document").set_input_files(str(FEB_2021))
    page.get_by_label("Import it as").select_option(label="A new RID version of February 2021 SEC Release")
    page.get_by_role("button", name="Read the document").click()
    expect(page.get_by_role("heading", name="Check what was read")).to_be_visible()
    expect(page.locator("#no-warnings")).to_be_visible()
    expect(page.locator("#section-scope")).to_contain_text("MP122 ‘Operational Metrics’ (targeted)")
    expect(page.locator("#section-criteria")).to_contain_text("10. owned by SECAS")
    expect(page.locator("#section-glossary")).to_contain_text("UIT: User Integration Testing")
    assert axe(page) == []
    screenshot(page, "rid-import-review")
    with app.app_context():
        release = db.session.scalar(sa.select(Release).where(Release.code == "feb-2021"))
        assert [v.number for v in release.rid_versions] == ["0.1"]  # nothing saved before confirming

    page.get_by_role("button", name="Confirm and save").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("RID version 0.2 of February 2021 SEC Release")
    with app.app_context():
        release = db.session.scalar(sa.select(Release).where(Release.code == "feb-2021"))
        assert [v.number for v in release.rid_versions] == ["0.1", "0.2"]
