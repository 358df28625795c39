"""The main pages issue the same number of SQL queries whatever the amount of history (counts, not times)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from generate import generate  # noqa: E402
from pages import page_costs  # noqa: E402

MAX_QUERIES = 15  # issue 7: no page issues more than 15


@pytest.fixture(scope="module")
def counts(tmp_path_factory) -> dict[int, dict]:
    """Query counts at scale 1 and scale 10 (bench/generate.py's data sets, in SQLite files)."""
    result = {}
    for scale in (1, 10):
        work = tmp_path_factory.mktemp(f"scale{scale}")
        url = f"sqlite:///{work / 'bench.db'}"
        generate(scale, url, str(work / "evidence"), quiet=True)
        result[scale] = page_costs(url, str(work / "evidence"), runs=1)
    return result


def test_every_main_page_and_fragment_answers(counts):
    for scale, pages in counts.items():
        assert {name: c["status"] for name, c in pages.items()} == {name: 200 for name in pages}, scale


def test_query_counts_do_not_grow_with_the_history(counts):
    small = {name: c["queries"] for name, c in counts[1].items()}
    large = {name: c["queries"] for name, c in counts[10].items()}
    assert large == small


def test_pages_stay_within_the_query_budget(counts):
    over = {name.strip(): c["queries"] for scale in counts for name, c in counts[scale].items()
            if c["queries"] > MAX_QUERIES}
    assert over == {}


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


def test_the_release_page_stays_within_the_budget_at_every_stage(tmp_path):
    """The release page's actions and decision summary differ by stage: each stage's page, for each role."""
    import sqlalchemy as sa

    from pages import QueryCounter, bench_config, signed_in_clients
    from portal import create_app
    from portal.extensions import db
    from portal.releases.models import Release

    url = f"sqlite:///{tmp_path / 'bench.db'}"
    generate(1, url, str(tmp_path / "evidence"), quiet=True)
    app = create_app(bench_config(url, str(tmp_path / "evidence")))
    with app.app_context():
        from portal.releases import demo
        demo.load_demo_release()  # a draft with the real RID's every section
        db.session.commit()
        codes = dict(db.session.execute(sa.select(Release.stage, Release.code).order_by(Release.id)).all())
        counter = QueryCounter(db.engine)
    assert len(codes) >= 5  # draft, evidence, OpsG review, vote open, live
    counts = {}
    for who, client in signed_in_clients(app).items():
        for stage, code in codes.items():
            counter.count = 0
            assert client.get(f"/releases/{code}").status_code == 200
            counts[(who, stage.value)] = counter.count
    assert {key: n for key, n in counts.items() if n > MAX_QUERIES} == {}
