"""Each person's journey through emailed links, in a real browser and by the labels they read: an invitation
accepted and used to sign in; a forgotten password reset; OpsG told that the DCC answered its request; the
vote-open email's link straight to the ballot."""
from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from portal.auth.models import User
from portal.criteria.models import AssessmentKind, AssessmentStatus
from portal.criteria.services import assess_criterion, request_evidence
from portal.decisions import services as decisions
from portal.decisions.models import RecommendationKind
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.releases import demo
from portal.releases.models import Release, Stage

NEW_PASSWORD = "my own long passphrase"
LINK_RE = re.compile(r"(https?://\S+)")


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _link(app, to: str, subject_part: str, after: str) -> str:
    """The link that follows `after` in the newest email to `to` whose subject contains `subject_part`."""
    with app.app_context():
        bodies = db.session.scalars(sa.select(OutboxMessage.body).where(
            OutboxMessage.to == to, OutboxMessage.subject.contains(subject_part)).order_by(OutboxMessage.id)).all()
    assert bodies, f"no email to {to} about {subject_part!r}"
    return LINK_RE.search(bodies[-1].split(after, 1)[1]).group(1)


def _choose_password(page: Page, password: str = NEW_PASSWORD) -> None:
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("Confirm new password").fill(password)
    page.get_by_role("button", name="Save password").click()


def _signed_in(page: Page, live_server: str, email: str, password: str) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("region", name="Your account")).to_contain_text("Signed in as")


def test_an_invited_user_accepts_and_signs_in(app, browser: Browser, live_server, sign_in, axe):
    admin = sign_in(browser.new_context().new_page(), "secas.admin@example.org")
    admin.goto(live_server + "/admin/users")
    admin.get_by_role("link", name="Add a user").click()
    admin.get_by_label("Email address").fill("pat.new@example.org")
    admin.get_by_label("Full name").fill("Pat New")
    admin.get_by_label("Organisation").fill("Acme Energy")
    admin.get_by_label("OpsG", exact=True).check()
    admin.get_by_role("button", name="Add user").click()
    expect(admin.locator(".govuk-notification-banner")).to_contain_text("We have emailed an invitation to "
                                                                        "pat.new@example.org")

    link = _link(app, "pat.new@example.org", "You are invited", "Choose your password to start: ")
    assert link.startswith(live_server + "/invitation/")
    invitee = browser.new_context().new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Choose your password")).to_be_visible()
    assert axe(invitee) == []
    _choose_password(invitee)
    expect(invitee).to_have_url(live_server + "/login")
    expect(invitee.locator(".govuk-notification-banner")).to_contain_text("Your password is saved")
    _signed_in(invitee, live_server, "pat.new@example.org", NEW_PASSWORD)
    expect(invitee.get_by_role("region", name="Your account")).to_contain_text("Pat New")

    invitee.goto(link)  # the link works once
    expect(invitee.get_by_role("heading", name="This link has already been used")).to_be_visible()
    admin.goto(live_server + "/admin/users")
    admin.get_by_role("link", name="Change Pat New").click()
    expect(admin.locator("#invitation + .govuk-summary-list")).to_contain_text("Accepted")


def test_a_forgotten_password_is_reset_by_emailed_link(app, browser: Browser, live_server, axe):
    page = browser.new_context().new_page()
    page.goto(live_server + "/login")
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_label("Email address").fill("dcc.lead@example.org")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.locator("main")).to_contain_text("If that address has an account, we have sent a link")
    assert axe(page) == []

    link = _link(app, "dcc.lead@example.org", "Reset your", "Choose a new password: ")
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    _choose_password(page)
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Your password is reset")
    _signed_in(page, live_server, "dcc.lead@example.org", NEW_PASSWORD)


def test_opsg_sees_that_the_dcc_answered_its_request(app, browser: Browser, live_server, sign_in):
    app.config["PORTAL_BASE_URL"] = live_server
    with app.test_request_context():
        release = db.session.scalar(sa.select(Release))
        release.stage = Stage.OPSG_REVIEW
        db.session.flush()
        request_evidence(_user("opsg.member@example.org"), release.criteria[0], "Please add the TOC runbook.")
        db.session.commit()
        code = release.code
    dcc = sign_in(browser.new_context().new_page(), "dcc.lead@example.org")
    dcc.goto(f"{live_server}/releases/{code}/criteria/1")
    dcc.get_by_label("Your answer").fill("The runbook is in the evidence library, section 4.")
    dcc.get_by_role("button", name="Send answer").click()
    expect(dcc.locator("#criterion-requests")).to_contain_text("Answered")

    opsg = sign_in(browser.new_context().new_page(), "opsg.member@example.org")
    opsg.get_by_role("link", name=re.compile(r"Notifications \(\d+ new\)")).click()
    note = opsg.get_by_role("link", name=re.compile("DCC answered your evidence request on criterion 1"))
    expect(note).to_be_visible()
    opsg.get_by_role("button", name="Mark all as read").click()  # by htmx: the header's count goes too
    expect(opsg.get_by_role("button", name="Mark all as read")).to_have_count(0)
    expect(opsg.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    note.click()
    expect(opsg).to_have_url(re.compile(rf"/releases/{code}/criteria/1$"))
    expect(opsg.locator("#criterion-requests")).to_contain_text("The runbook is in the evidence library")
    link = _link(app, "opsg.member@example.org", "answered your evidence request", "Read the answer: ")
    assert link == f"{live_server}/releases/{code}/criteria/1"


def test_the_vote_open_email_links_straight_to_the_ballot(app, browser: Browser, live_server, sign_in):
    app.config["PORTAL_BASE_URL"] = live_server
    with app.test_request_context():
        release = db.session.scalar(sa.select(Release))
        release.stage = Stage.OPSG_REVIEW
        db.session.flush()
        for criterion in release.criteria:
            assess_criterion(_user("opsg.member@example.org"), criterion, AssessmentStatus.MET, "Seen.",
                             AssessmentKind.FINAL, demo.DEMO_PASSWORD)
        decisions.record_recommendation(_user("opsg.chair@example.org"), release,
                                        kind=RecommendationKind.AS_PLANNED, conditions=[], reasons="All met.",
                                        password=demo.DEMO_PASSWORD)
        db.session.commit()
        code = release.code
    chair = sign_in(browser.new_context().new_page(), "panel.chair@example.org")
    chair.goto(f"{live_server}/releases/{code}/vote")
    chair.get_by_role("button", name="Open the Panel vote").click()
    expect(chair.locator("#ballot-panel")).to_contain_text("Your vote")

    link = _link(app, "panel.member1@example.org", "vote is open", "Cast your vote: ")
    assert link == f"{live_server}/releases/{code}/vote#ballot-panel"
    member = browser.new_context().new_page()
    member.goto(link)  # signed out: the sign-in page brings them back to the ballot
    member.get_by_label("Email address").fill("panel.member1@example.org")
    member.get_by_label("Password", exact=True).fill(demo.DEMO_PASSWORD)
    member.get_by_role("button", name="Sign in").click()
    expect(member.get_by_role("heading", name="Your vote")).to_be_visible()
    member.get_by_label("Go", exact=True).check()
    member.get_by_label("Your password").fill(demo.DEMO_PASSWORD)
    member.get_by_role("button", name="Sign and cast the vote").click()
    expect(member.get_by_test_id("my-ballot")).to_contain_text("You voted Go")
