"""The My tasks page and its count in the header, as each role sees them."""
import re

from portal.releases.models import Stage


def test_dcc_sees_its_evidence_tasks_with_links_and_count(client, users, make_release):
    release = make_release(Stage.EVIDENCE)
    client.login(users["dcc"])
    page = client.get("/tasks").get_data(as_text=True)
    assert "Add evidence for criterion 1" in page
    assert f'href="/releases/{release.code}/criteria/1"' in page
    assert "Add evidence for criterion 9" not in page  # SECAS's criterion
    listed = page.count('<tr class="govuk-table__row">') - 1  # minus the header row
    assert listed >= 8  # criteria 1-8 each wait for evidence
    assert f"My tasks ({listed})" in _text(page)
    assert "26 January 2021" in page  # the evidence deadline from the timeline


def test_panel_member_has_nothing_waiting_before_a_vote(client, users, make_release):
    make_release(Stage.EVIDENCE)
    client.login(users["panel"])
    page = client.get("/tasks").get_data(as_text=True)
    assert "Nothing is waiting for you" in page
    assert "My tasks (" not in _text(page)
    assert _count(client) == ""


def test_other_pages_load_the_task_count_after_the_page(client, users, make_release):
    """The header's count is an htmx fragment, so a page does not pay for every release's task queries."""
    make_release(Stage.EVIDENCE)
    client.login(users["dcc"])
    page = client.get("/").get_data(as_text=True)
    assert 'hx-get="/tasks/count" hx-trigger="load, portal-changed from:body"' in page
    assert "My tasks (" not in _text(page)
    listed = client.get("/tasks").get_data(as_text=True).count('<tr class="govuk-table__row">') - 1
    assert _count(client) == f"({listed})"


def _text(html: str) -> str:
    """The page's words, without its tags."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def _count(client) -> str:
    """The task count's text, from the header's fragment (without the notifications' count it also brings)."""
    fragment = client.get("/tasks/count", headers={"HX-Request": "true"}).get_data(as_text=True)
    return re.search(r'<span id="portal-task-count"[^>]*>(.*?)</span>', fragment, re.S).group(1).strip()
