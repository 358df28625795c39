"""The audit trail reads as sentences: who did what, in words; changes as before → after with names and labels;
the exact stored record one click away, unchanged."""
import re
from html import unescape

import pytest

from decisions_support import client_for, decided
from portal.access import Role
from portal.audit.describe import field_value
from portal.releases.models import Stage


def _changes_cells(html: str) -> list[str]:
    """The text of each row's Changes column (the fifth cell)."""
    cells = re.findall(r'<tr class="govuk-table__row" id="audit-event-\d+">(.*?)</tr>', html, re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[4] for row in cells]


@pytest.fixture
def decided_release(app, users, make_user, make_release):
    members = [users["panel_chair"], users["panel"], make_user(Role.PANEL, name="Rhea Third")]
    release = make_release(Stage.OPSG_REVIEW)
    decided(app, users, release, members, choices=("go", "go", "no_go"))
    return release, members


def test_events_are_sentences_with_names_and_labels(app, users, decided_release):
    release, members = decided_release
    html = client_for(app, users["secas"]).get(f"/releases/{release.code}/audit").get_data(as_text=True)
    opsg = users["opsg"].name
    # An assessment, as a person says it (not "assessment.final", not "met").
    assert f"{opsg} (OpsG) assessed criterion 1 as Met (final assessment, signed)." in html
    assert "Final assessment</strong>" in html
    # The vote: opened and closed by the chair, the count in words.
    chair = users["panel_chair"].name
    assert f"{chair} (SEC Panel) opened the Panel vote for 3 eligible members." in html
    assert re.search(re.escape(chair) + r" \(SEC Panel\) closed the Panel vote: Go \(Go 2, No-go 1", html)
    # People by name, never by id; no Python syntax; an empty value is "none", never "(removed)".
    cells = "\n".join(_changes_cells(html))
    assert all(m.name in cells for m in members), "the eligible members are named"
    assert not re.search(r"\[\d+(, \d+)*\]", cells), "a list of ids"
    assert "{" not in cells and "None" not in cells
    assert "(removed)" not in html
    # The stage moves read with the stages' names and the step that moved them.
    assert "moved the release from OpsG review to Panel go/no-go vote." in html
    assert "Record the Panel's decision" in unescape(cells)
    assert "cast a ballot." in html


def test_the_exact_record_is_one_click_away(app, users, decided_release):
    release, _ = decided_release
    html = client_for(app, users["secas"]).get(f"/releases/{release.code}/audit").get_data(as_text=True)
    assert html.count("Exact record") >= 10
    assert "<code>assessment.final</code>" in html
    assert '"status": "met"' in unescape(html)  # the stored value, as stored


def test_the_kind_filter_names_each_kind_in_words(app, users, decided_release):
    release, _ = decided_release
    html = client_for(app, users["secas"]).get(f"/releases/{release.code}/audit").get_data(as_text=True)
    assert '<option value="assessment.final">Final assessment</option>' in html
    filtered = client_for(app, users["secas"]).get(f"/releases/{release.code}/audit",
                                                  query_string={"kind": "vote.closed"}).get_data(as_text=True)
    assert "closed the Panel vote" in filtered and "assessed criterion" not in filtered



@pytest.mark.parametrize("key, value, shown", [
    ("planned_go_live", "2021-02-25", "25 Feb 2021"),
    ("closes_at", "2021-01-14T17:00:00+00:00", "14 Jan 2021 17:00"),
    ("closes_at", "2021-06-14T17:00:00+00:00", "14 Jun 2021 18:00"),  # shown in UK time (BST)
    ("status", "partially_met", "Partially met"),
    ("stage", "panel_vote", "Panel go/no-go vote"),
    ("owner_role", "dcc", "DCC"),
    ("withdrawn", True, "Yes"),
    ("conditions", None, "none"),
    ("reopened", [3, 8], "3, 8"),
    ("size", 2_500_000, "2.4 MB"),
    ("alternate_id", 7, "Ada Member"),
    ("alternate_id", 99, "user 99"),
    ("mystery", "x", "x"),
])
def test_values_read_as_words(key, value, shown):
    assert field_value(key, value, {7: "Ada Member"}) == shown


def _event(action: str, summary: str, after: dict | None = None):
    from types import SimpleNamespace
    return SimpleNamespace(action=action, summary=summary, actor_id=1, actor_name="Priya Chandra",
                           details={"after": after or {}, "before": {}})


@pytest.mark.parametrize("action, summary, after, shown", [
    ("rid.baselined", "RID baselined at the Panel meeting on 14 August 2020, minute PANEL_84_1408", {},
     "Priya Chandra (SEC Panel) baselined the RID at the Panel meeting on 14 August 2020, minute PANEL_84_1408."),
    ("condition.met", "Condition 2 marked met by DCC", {"file": "plan.pdf"},
     "Priya Chandra (SEC Panel) marked condition 2 as met, with the file plan.pdf."),
    ("condition.accepted", "Condition 2 accepted by OpsG", {},
     "Priya Chandra (SEC Panel) accepted condition 2 as met."),
    ("condition.waived", "Condition 1 waived by the Panel", {"reason": "Covered by the DCC's plan"},
     "Priya Chandra (SEC Panel) waived condition 1: Covered by the DCC's plan."),
])
def test_the_steps_added_since_read_as_sentences(action, summary, after, shown):
    from portal.audit.describe import EVENT_NAMES, sentence
    assert sentence(_event(action, summary, after), "SEC Panel", {}) == shown
    assert action in EVENT_NAMES
