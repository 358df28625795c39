"""The release list: one heading per go-live year, latest first, each release under its own year."""
from __future__ import annotations

import datetime as dt
import re

from portal.extensions import db
from portal.releases.models import Release
from releases_html import page_text


def test_the_release_list_is_grouped_by_go_live_year(app, users, login, make_release):
    make_release()  # February 2021
    with app.app_context():
        for code, name, day in (("jun-2031", "June 2031 SEC Release", dt.date(2031, 6, 26)),
                                ("nov-2031", "November 2031 SEC Release", dt.date(2031, 11, 6)),
                                ("feb-2032", "February 2032 SEC Release", dt.date(2032, 2, 26))):
            db.session.add(Release(code=code, name=name, planned_go_live=day))
        db.session.commit()
    html = login(users["dcc"]).get("/").get_data(as_text=True)
    assert re.findall(r'<h2 class="govuk-heading-m" id="year-(\d+)">', html) == ["2032", "2031", "2021"]
    text = page_text(html)
    order = [text.index(s) for s in ("2032", "February 2032 SEC Release", "2031", "November 2031 SEC Release",
                                     "June 2031 SEC Release", "2021", "February 2021 SEC Release")]
    assert order == sorted(order)
    assert "Create a release" not in text  # DCC is not offered it
