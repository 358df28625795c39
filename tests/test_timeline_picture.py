"""Issue 13: each release's milestones as a picture against today (SVG drawn on the server, with a text
alternative)."""
from __future__ import annotations

import datetime as dt

import pytest

from portal.releases.services import MilestoneMark, timeline_picture
from releases_html import page_text

D = dt.date
MILESTONES = [{"id": 1, "event": "Panel baselines RID", "due_on": D(2020, 8, 14)},
              {"id": 2, "event": "Panel go/no-go decision", "due_on": D(2021, 2, 12)},
              {"id": 3, "event": "Release go-live", "due_on": D(2021, 2, 25)}]
MARKS = {1: MilestoneMark(True, False, False, ""), 2: MilestoneMark(False, True, False, "due"),
         3: MilestoneMark(False, False, False, "due")}


def test_each_milestone_sits_at_its_date_on_its_own_row_and_today_between():
    picture = timeline_picture(MILESTONES, MARKS, on=D(2021, 1, 11))
    xs, ys = [p.x for p in picture.points], [p.y for p in picture.points]
    assert xs == sorted(xs) and xs[0] == 24 and xs[-1] == picture.width - 24
    assert len(set(ys)) == 3 and ys == sorted(ys) and picture.axis_y > ys[-1]
    assert [p.state for p in picture.points] == ["done", "next", "planned"]
    assert xs[0] < picture.today_x < xs[1] and picture.today_outside == ""


@pytest.mark.parametrize("on, edge", [(D(2026, 12, 2), "after"), (D(2019, 1, 1), "before")])
def test_today_beyond_the_milestones_is_drawn_at_that_edge(on, edge):
    picture = timeline_picture(MILESTONES, MARKS, on=on)
    assert picture.today_outside == edge
    assert picture.today_x == (picture.width - 24 if edge == "after" else 24)


def test_no_milestones_no_picture():
    assert timeline_picture([], {}) is None


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PORTAL_TODAY": "2021-01-11"}


def test_the_release_page_draws_it_with_a_text_alternative(client, users, make_release):
    release = make_release()
    client.login(users["dcc"])
    html = client.get(f"/releases/{release.code}").get_data(as_text=True)
    svg = html[html.index('<figure class="portal-timeline-picture'):html.index("</figure>")]
    assert 'role="img"' in svg and 'aria-labelledby="timeline-picture-title timeline-picture-desc"' in svg
    text = page_text(svg)
    assert "Timeline of February 2021 SEC Release against today, 11 January 2021" in text
    assert "Panel baselines RID, 14 August 2020: overdue." in text  # the draft is not baselined yet
    assert "Release go-live, 25 February 2021: to come." in text
    assert svg.count("<circle") == 5
    # A version's page (the RID as it stood) has no "today" to draw against.
    assert "portal-timeline-picture" not in client.get(f"/releases/{release.code}/rid/0.1").get_data(as_text=True)
