"""The release calendar's month grid: milestones of every release on their days, previous/next months as links."""
from __future__ import annotations

import re

from releases_html import page_text


def test_the_month_grid_shows_every_release_s_milestones_and_moves_by_month(app, users, login, make_release):
    make_release()
    client = login(users["dcc"])
    response = client.get("/calendar/month?month=2021-02")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    cell = re.search(r'id="day-2021-02-02">(.*?)</td>', html, re.S).group(1)
    assert "February 2021 SEC Release" in cell and "Operations Group reviews status" in page_text(cell)
    assert 'href="/calendar/month?month=2021-01"' in html and 'href="/calendar/month?month=2021-03"' in html
    january = client.get("/calendar/month?month=2021-01").get_data(as_text=True)
    assert "January 2021" in page_text(january)
    assert "DCC submits evidence" in re.search(r'id="day-2021-01-26">(.*?)</td>', january, re.S).group(1)
    assert "(bank holiday)" in re.search(r'id="day-2021-01-01">(.*?)</td>', january, re.S).group(1)
    december = client.get("/calendar/month?month=2020-12").get_data(as_text=True)
    assert 'href="/calendar/month?month=2021-01"' in december  # across the year's end


def test_a_bad_month_shows_the_current_month_not_an_error(app, users, login):
    client = login(users["opsg"])
    for bad in ("2021-13", "nonsense", "1999-01", "9999-99"):
        assert client.get(f"/calendar/month?month={bad}").status_code == 200
