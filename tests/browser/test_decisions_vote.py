"""The live "who has voted" tally: two members vote in their own browsers, a third watches it update in place."""
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from portal.auth.models import User
from portal.criteria.models import AssessmentKind, AssessmentStatus
from portal.criteria.services import assess_criterion
from portal.decisions import services
from portal.queries import latest_vote
from portal.decisions.models import Choice, RecommendationKind
from portal.extensions import db
from portal.releases import demo
from portal.releases.models import Release, Stage


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _open_the_vote(app) -> str:
    """The demo release assessed, recommended and its vote opened, through the services."""
    with app.test_request_context():
        release = db.session.scalar(sa.select(Release))
        release.stage = Stage.OPSG_REVIEW
        db.session.flush()
        for criterion in release.criteria:
            assess_criterion(_user("opsg.member@example.org"), criterion, AssessmentStatus.MET, "Seen.",
                             AssessmentKind.FINAL, demo.DEMO_PASSWORD)
        services.record_recommendation(_user("opsg.chair@example.org"), release, kind=RecommendationKind.AS_PLANNED,
                                       conditions=[], reasons="All met.", password=demo.DEMO_PASSWORD)
        services.open_vote(_user("panel.chair@example.org"), release)
        db.session.commit()
        return release.code


def _vote_in_browser(page, live_server, code: str, choice: str) -> None:
    page.goto(f"{live_server}/releases/{code}/vote")
    page.get_by_label(choice, exact=True).check()
    page.get_by_label("Your password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign and cast the vote").click()
    expect(page.get_by_test_id("my-ballot")).to_contain_text(f"You voted {choice}")


def test_the_tally_updates_in_place_and_ballots_show_after_the_close(app, browser: Browser, live_server, sign_in,
                                                                     axe, screenshot):
    code = _open_the_vote(app)
    watcher = browser.new_context().new_page()
    sign_in(watcher, "panel.member3@example.org")
    watcher.goto(f"{live_server}/releases/{code}/vote")
    tally = watcher.get_by_test_id("tally-count")
    expect(tally).to_contain_text("0 of 5 eligible members have voted")
    watcher.evaluate("window.notReloaded = true")

    for email, choice in (("panel.member1@example.org", "Go"), ("panel.member2@example.org", "No-go")):
        voter = browser.new_context().new_page()
        sign_in(voter, email)
        _vote_in_browser(voter, live_server, code, choice)
        voter.context.close()

    expect(tally).to_contain_text("2 of 5 eligible members have voted", timeout=15000)
    assert watcher.evaluate("window.notReloaded") is True  # updated in place, not by a reload
    text = watcher.locator("#vote-tally").inner_text()
    assert "Peter Moss" in text and "No-go" not in text
    assert axe(watcher) == []
    screenshot(watcher, "vote-open")

    with app.test_request_context():
        release = db.session.scalar(sa.select(Release))
        services.cast_vote(_user("panel.chair@example.org"), latest_vote(release),
                           member_id=_user("panel.chair@example.org").id, choice=Choice.GO, comment="",
                           password=demo.DEMO_PASSWORD)
        db.session.commit()
    chair = browser.new_context().new_page()
    sign_in(chair, "panel.chair@example.org")
    chair.goto(f"{live_server}/releases/{code}/vote")
    chair.get_by_role("button", name="Close the vote").click()
    expect(chair.get_by_role("heading", name="Close the vote now?")).to_be_visible()  # the confirmation
    chair.get_by_role("button", name="Close the vote").click()
    expect(chair.get_by_test_id("outcome")).to_contain_text("Outcome: Go")

    watcher.reload()
    ballots = watcher.locator("#ballots")
    expect(ballots).to_contain_text("Peter Moss")
    expect(ballots).to_contain_text("No-go")
    screenshot(watcher, "vote-closed")
