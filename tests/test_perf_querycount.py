"""The main pages issue the same number of SQL queries whatever the amount of history (counts, not times)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from generate import generate  # noqa: E402
from pages import page_costs  # noqa: E402

MAX_QUERIES = 15
# Pages still above the limit, with the reason (bench/RESULTS.md); their counts must still not grow.
OVER_LIMIT = {"release list", "release page", "criterion page", "my tasks", "release audit", "vote page",
              "vote tally"}


@pytest.fixture(scope="module")
def counts(tmp_path_factory) -> dict[int, dict]:
    """Query counts at scale 1 and at three times the history (SQLite files, two years of releases)."""
    result = {}
    for scale in (1, 3):
        work = tmp_path_factory.mktemp(f"scale{scale}")
        url = f"sqlite:///{work / 'bench.db'}"
        generate(scale, url, str(work / "evidence"), years=2, quiet=True)
        result[scale] = page_costs(url, str(work / "evidence"), runs=1)
    return result


def test_every_main_page_and_fragment_answers(counts):
    for scale, pages in counts.items():
        assert {name: c["status"] for name, c in pages.items()} == {name: 200 for name in pages}, scale


def test_query_counts_do_not_grow_with_the_history(counts):
    small = {name: c["queries"] for name, c in counts[1].items()}
    large = {name: c["queries"] for name, c in counts[3].items()}
    assert large == small


def test_pages_stay_within_the_query_budget(counts):
    over = {name.strip(): c["queries"] for name, c in counts[3].items() if c["queries"] > MAX_QUERIES}
    assert set(over) <= OVER_LIMIT, over


def test_the_release_list_is_paged(app, client, users):
    """Fifty releases a page, latest go-live first; the next page is also an HTMX fragment."""
    import datetime as dt

    from portal.extensions import db
    from portal.releases.models import Release

    with app.app_context():
        for n in range(55):
            db.session.add(Release(code=f"R{n:03d}", name=f"Release number {n:03d}",
                                   planned_go_live=dt.date(2020, 1, 1) + dt.timedelta(days=30 * n)))
        db.session.commit()
    client.login(users["dcc"])
    first = client.get("/").get_data(as_text=True)
    assert "Release number 054" in first and "Release number 005" in first
    assert "Release number 004" not in first and "?page=2" in first
    second = client.get("/?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert second.lstrip().startswith('<div id="release-list">')
    assert "Release number 004" in second and "Release number 000" in second and "Release number 005" not in second
    assert "<html" not in second
