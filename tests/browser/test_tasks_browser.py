"""In a real browser: the header's task count arrives by htmx after the page; without JavaScript the link still works."""
import re

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.releases.models import Release, Stage


def test_the_task_count_loads_after_the_page_and_the_link_works_without_javascript(page: Page, browser, app,
                                                                                  live_server, sign_in):
    with app.app_context():
        db.session.scalar(sa.select(Release)).stage = Stage.EVIDENCE  # the DCC now has evidence to add
        db.session.commit()
    sign_in(page, "dcc.lead@example.org")
    page.goto(live_server + "/")
    nav = page.get_by_role("navigation", name="Portal sections")
    expect(nav.get_by_role("link", name=re.compile(r"^My tasks \(\d+\)$"))).to_be_visible()
    count = int(re.search(r"\((\d+)\)", nav.get_by_role("link", name=re.compile("My tasks")).inner_text()).group(1))
    nav.get_by_role("link", name=re.compile("My tasks")).click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
    assert page.locator("main tbody tr").count() == count

    plain = browser.new_context(java_script_enabled=False).new_page()
    sign_in(plain, "dcc.lead@example.org")
    plain.goto(live_server + "/")
    link = plain.get_by_role("navigation", name="Portal sections").get_by_role("link", name=re.compile("My tasks"))
    expect(link).to_have_text(re.compile(r"^\s*My tasks\s*$"))
    link.click()
    assert plain.locator("main tbody tr").count() == count
