"""The go-live notice: drafted as the release goes Live, edited and published by SECAS, then public and in the feed."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
from xml.etree import ElementTree as ET

import pytest
import sqlalchemy as sa
from conftest import PortalClient
from pypdf import PdfReader
from decisions_support import client_for, confirm, count, decided
from releases_html import page_text

from portal.access import Role
from portal.audit.describe import EVENT_NAMES, sentence
from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.extensions import db
from portal.notices.models import Notice, NoticeState
from portal.notices.services import release_month, version_number
from portal.pack.export import build_pack
from portal.releases.models import Release, ScopeStatus, Stage
from portal.tasks import tasks_for
from portal.timeutil import today, uk_date

BASE = "https://portal.example.org"
ATOM = "{http://www.w3.org/2005/Atom}"
TITLE = "SEC version 40.0 designated – February 2021 SEC Release"
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PORTAL_BASE_URL": BASE}


@pytest.fixture
def live(app, users, make_release):
    """The demo release with MP095 and MP122 approved (MP092 and MP111 still targeted), driven Live over HTTP."""
    release = make_release(Stage.OPSG_REVIEW)
    with app.app_context():
        for entry in db.session.get(Release, release.id).scope:
            if entry.mp.reference in ("MP095", "MP122"):
                entry.status = ScopeStatus.APPROVED
        db.session.commit()
    decided(app, users, release, [users["panel_chair"], users["panel"]], ("go", "go"))
    secas = client_for(app, users["secas"])
    assert confirm(secas, release.code, "readiness").status_code == 303
    assert confirm(secas, release.code, "sec_implemented", "SEC v40.0").status_code == 303
    assert count(app, Notice) == 0, "no notice before the release is Live"
    assert confirm(client_for(app, users["dcc"]), release.code, "deployment").status_code == 303
    return release


@pytest.fixture
def secas(app, users):
    return client_for(app, users["secas"])


def _notice(app) -> Notice:
    with app.app_context():
        notice = db.session.scalar(sa.select(Notice))
        db.session.expunge(notice)
        return notice


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return events


def _state(app) -> tuple:
    """What an edit or publish could change: the notice's columns and the audit trail's length."""
    with app.app_context():
        row = db.session.execute(sa.select(Notice.state, Notice.title, Notice.summary, Notice.published_at)).one()
        return tuple(row) + (db.session.scalar(sa.select(sa.func.count(AuditEvent.id))),)


def _edit(client, code: str, title: str = TITLE, summary: str = "SEC version 40.0 is designated."):
    return client.post_form(f"/releases/{code}/notice", {"title": title, "summary": summary})


def _publish(client, code: str, confirmed: bool = True):
    return client.post_form(f"/releases/{code}/notice/publish", {"confirmed": "yes"} if confirmed else {})


def _feed(app) -> ET.Element:
    response = PortalClient(app).get("/notices.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    return ET.fromstring(response.data)  # raises on XML that is not well-formed


# --- Drafting at go-live ---------------------------------------------------------------------------

def test_going_live_drafts_exactly_one_notice_from_the_rid(app, users, live):
    assert count(app, Notice) == 1
    notice = _notice(app)
    with app.app_context():
        assert notice.effective_on == today()
    assert notice.state == NoticeState.DRAFT and notice.published_at is None
    assert notice.title == TITLE and notice.sec_version == "40.0"
    # The approved modifications only, in the scope's order, with their titles and links.
    assert [m["reference"] for m in notice.modifications] == ["MP095", "MP122"]
    assert notice.modifications[0] == {
        "reference": "MP095", "title": "Alignment of SEC Credit Cover",
        "url": "https://smartenergycodecompany.co.uk/modifications/alignment-of-sec-credit-cover/"}
    # The documents those modifications change, each once, in the documents' order (Appendix AL is MP092's only).
    assert [d["name"] for d in notice.documents] == ["Section A", "Section H", "Section J"]
    drafted = _events(app, "notice.drafted")
    assert len(drafted) == 1 and drafted[0].actor_id == users["dcc"].id and drafted[0].release_id == live.id
    assert drafted[0].details["after"]["modifications"] == ["MP095", "MP122"]
    # Written in the go-live's transaction: straight after the move to Live.
    moved = [e for e in _events(app, "release.moved") if e.details["after"]["stage"] == "live"]
    assert len(moved) == 1 and drafted[0].id == moved[0].id + 1


def test_secas_is_asked_to_publish_and_the_release_page_links_the_draft_for_secas_only(app, users, live, secas):
    with app.test_request_context():
        titles = [t.title for t in tasks_for(db.session.get(User, users["secas"].id))]
        assert "Publish the go-live notice" in titles
        assert not tasks_for(db.session.get(User, users["dcc"].id))
    page = page_text(secas.get(f"/releases/{live.code}").get_data(as_text=True))
    assert "Review and publish the draft go-live notice" in page
    other = client_for(app, users["dcc"]).get(f"/releases/{live.code}").get_data(as_text=True)
    assert "draft go-live notice" not in other and "release-notice" not in other


def test_secas_tasks_read_the_notices_of_every_live_release_at_once(app, users, live):
    """My tasks asks every Live release whether its notice waits on SECAS: in one query, however many there are."""
    def queries_for_tasks() -> tuple[int, list[str]]:
        statements = []
        with app.test_request_context():
            listen = lambda *args: statements.append(args[2])  # noqa: E731
            sa.event.listen(db.engine, "before_cursor_execute", listen)
            try:
                titles = [t.title for t in tasks_for(db.session.get(User, users["secas"].id))]
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", listen)
        return len(statements), titles

    one, titles = queries_for_tasks()
    assert titles.count("Publish the go-live notice") == 1
    with app.app_context():
        for n in range(3):  # more Live releases, each with a draft notice
            release = Release(code=f"live-{n}", name=f"June 202{n} SEC Release", stage=Stage.LIVE,
                              planned_go_live=dt.date(2020 + n, 6, 24), sec_version="SEC v41.0")
            db.session.add(release)
            db.session.flush()
            db.session.add(Notice(release_id=release.id, title=f"Notice {n}", summary="Text.", sec_version="41.0",
                                  effective_on=dt.date(2020 + n, 6, 24)))
        db.session.commit()
    four, titles = queries_for_tasks()
    assert titles.count("Publish the go-live notice") == 4
    assert four == one


def test_the_draft_is_not_public(app, live):
    anonymous = PortalClient(app)
    assert anonymous.get(f"/notices/{live.code}").status_code == 404
    assert TITLE not in anonymous.get("/notices").get_data(as_text=True)
    assert _feed(app).findall(f"{ATOM}entry") == []
    response = anonymous.get(f"/releases/{live.code}/notice")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- Who may edit and publish ----------------------------------------------------------------------

@pytest.mark.parametrize("key", ["dcc", "opsg", "opsg_chair", "panel", "panel_chair"])
def test_only_secas_edits_and_publishes(app, users, live, key):
    client = client_for(app, users[key])
    before = _state(app)
    assert client.get(f"/releases/{live.code}/notice").status_code == 403
    assert _edit(client, live.code, title="Another title").status_code == 403
    assert _publish(client, live.code).status_code == 403
    assert _state(app) == before


@pytest.mark.parametrize("title, summary, message", [
    ("", "Text.", "Enter the notice's title"),
    ("   ", "Text.", "Enter the notice's title"),
    (TITLE, "", "Enter the notice's text"),
    ("x" * 301, "Text.", "Title must be 300 characters or fewer"),
    (TITLE, "x" * 5001, "Text must be 5,000 characters or fewer"),
])
def test_bad_input_is_422_with_an_error_summary_and_stores_nothing(app, live, secas, title, summary, message):
    before = _state(app)
    response = _edit(secas, live.code, title=title, summary=summary)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "There is a problem" in html and message in page_text(html)
    assert _state(app) == before


def test_a_title_is_one_line(app, live, secas):
    assert _edit(secas, live.code, title="  SEC version 40.0\r\n designated  ").status_code == 303
    assert _notice(app).title == "SEC version 40.0 designated"


def test_the_edit_survives_hostile_input_and_a_refusal_stores_nothing(app, live, secas):
    from hypothesis import HealthCheck, given, settings, strategies as st

    token = secas.csrf_token()
    text = st.one_of(st.text(max_size=400), st.sampled_from(["", " ", "<script>alert(1)</script>", "x" * 6000,
                                                             "a\x00b", "\u202e\ufeff", "line\r\nbreak"]))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(title=st.one_of(st.none(), text), summary=st.one_of(st.none(), text))
    def post(title, summary):
        before = _state(app)
        data = {"csrf_token": token, **{k: v for k, v in (("title", title), ("summary", summary)) if v is not None}}
        response = secas.post(f"/releases/{live.code}/notice", data=data)
        assert response.status_code in (303, 422), response.status_code
        if response.status_code == 422:
            assert _state(app) == before

    post()


def test_secas_edits_the_draft_with_an_audited_change(app, live, secas):
    page = secas.get(f"/releases/{live.code}/notice").get_data(as_text=True)
    assert 'name="title"' in page and f'action="/releases/{live.code}/notice/publish"' in page
    response = _edit(secas, live.code, title=TITLE + " (corrected)", summary="The new SEC version is in effect.")
    assert response.status_code == 303
    notice = _notice(app)
    assert notice.title == TITLE + " (corrected)" and notice.summary == "The new SEC version is in effect."
    [edited] = _events(app, "notice.edited")
    assert edited.details["before"]["title"] == TITLE
    assert edited.details["after"] == {"title": TITLE + " (corrected)", "summary": "The new SEC version is in effect."}
    # Saving the same again changes nothing, so records nothing.
    assert _edit(secas, live.code, title=TITLE + " (corrected)",
                 summary="The new SEC version is in effect.").status_code == 303
    assert len(_events(app, "notice.edited")) == 1


# --- Publishing ------------------------------------------------------------------------------------

def test_publishing_asks_for_confirmation_then_the_notice_is_public(app, users, live, secas):
    before = _state(app)
    response = _publish(secas, live.code, confirmed=False)
    assert response.status_code == 200
    text = page_text(response.get_data(as_text=True))
    assert "Publish the go-live notice?" in text and "cannot be undone" in text and "MP122: Operational Metrics" in text
    assert _state(app) == before, "the confirmation page publishes nothing"

    response = _publish(secas, live.code)
    assert response.status_code == 303 and response.headers["Location"] == f"/notices/{live.code}"
    notice = _notice(app)
    assert notice.state == NoticeState.PUBLISHED and notice.published_at is not None
    assert notice.published_by_id == users["secas"].id
    [published] = _events(app, "notice.published")
    assert published.actor_id == users["secas"].id and published.release_id == live.id

    anonymous = PortalClient(app)
    text = page_text(anonymous.get(f"/notices/{live.code}").get_data(as_text=True))
    with app.app_context():
        effective = uk_date(today())
    for expected in (TITLE, f"Date of effect {effective}", "MP095 ‘Alignment of SEC Credit Cover’",
                     "MP122 ‘Operational Metrics’", "Section J: Payment of Charges"):
        assert expected in text
    assert "MP092" not in text and "Appendix AL" not in text
    listing = page_text(anonymous.get("/notices").get_data(as_text=True))
    assert TITLE in listing and f"In effect from {effective}" in listing
    # Everyone now finds it from the release page.
    page = client_for(app, users["panel"]).get(f"/releases/{live.code}").get_data(as_text=True)
    assert f'href="/notices/{live.code}"' in page


def test_a_published_notice_cannot_be_published_again_or_edited(app, live, secas):
    assert _publish(secas, live.code).status_code == 303
    before = _state(app)
    again = _publish(secas, live.code)
    assert again.status_code == 409 and "has been published" in again.get_data(as_text=True)
    edited = _edit(secas, live.code, title="A new title")
    assert edited.status_code == 409
    assert _edit(secas, live.code, title="").status_code == 409, "refused for its state before its input"
    assert _state(app) == before
    page = secas.get(f"/releases/{live.code}/notice").get_data(as_text=True)
    assert 'name="title"' not in page and "/notice/publish" not in page


def test_the_list_shows_the_newest_first(app, live, secas):
    assert _publish(secas, live.code).status_code == 303
    newer = _notice(app)
    with app.app_context():  # an older release's notice, published a year earlier
        older = Release(code="nov-2020", name="November 2020 SEC Release", planned_go_live=dt.date(2020, 11, 5),
                        stage=Stage.LIVE, sec_version="SEC v39.0")
        db.session.add(older)
        db.session.flush()
        db.session.add(Notice(release_id=older.id, state=NoticeState.PUBLISHED, sec_version="39.0",
                              title="SEC version 39.0 designated – November 2020 SEC Release", summary="Older.",
                              effective_on=dt.date(2020, 11, 5), published_by_id=newer.published_by_id,
                              published_at=newer.published_at - dt.timedelta(days=365)))
        db.session.commit()
    listing = page_text(PortalClient(app).get("/notices").get_data(as_text=True))
    assert listing.index(TITLE) < listing.index("SEC version 39.0 designated")
    titles = [e.findtext(f"{ATOM}title") for e in _feed(app).findall(f"{ATOM}entry")]
    assert titles == [TITLE, "SEC version 39.0 designated – November 2020 SEC Release"]


# --- The feed --------------------------------------------------------------------------------------

def test_the_feed_is_atom_with_every_required_element_and_escapes_its_text(app, live, secas):
    hostile = 'SEC version 40.0 designated – "February" <2021> & more'
    assert _edit(secas, live.code, title=hostile, summary="<script>alert(1)</script> & done").status_code == 303
    assert _publish(secas, live.code).status_code == 303
    feed = _feed(app)
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert (feed.findtext(f"{ATOM}{name}") or "").strip(), f"feed has no {name}"
    assert feed.findtext(f"{ATOM}id") == f"{BASE}/notices"
    assert feed.findtext(f"{ATOM}author/{ATOM}name")
    assert RFC3339_UTC.match(feed.findtext(f"{ATOM}updated"))
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {"self": f"{BASE}/notices.atom", "alternate": f"{BASE}/notices"}
    [entry] = feed.findall(f"{ATOM}entry")
    page = f"{BASE}/notices/{live.code}"
    assert entry.findtext(f"{ATOM}id") == page
    assert entry.findtext(f"{ATOM}title") == hostile  # escaped in the XML, exact once parsed
    assert RFC3339_UTC.match(entry.findtext(f"{ATOM}updated"))
    assert feed.findtext(f"{ATOM}updated") == entry.findtext(f"{ATOM}updated")
    [alternate] = [link for link in entry.findall(f"{ATOM}link") if link.get("rel") == "alternate"]
    assert alternate.get("href") == page
    assert entry.findtext(f"{ATOM}summary") == "<script>alert(1)</script> & done"
    content = entry.find(f"{ATOM}content")
    assert content.get("type") == "html" and "&lt;script&gt;" in content.text and "MP122" in content.text
    raw = PortalClient(app).get("/notices.atom").get_data(as_text=True)
    assert "<script>" not in raw and "<2021>" not in raw
    html = PortalClient(app).get(f"/notices/{live.code}").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


# --- The parts -------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, number", [("SEC v40.0", "40.0"), ("v41.2", "41.2"), ("sec V42", "42"),
                                           ("40.0", "40.0"), (None, "")])
def test_the_version_number_drops_the_sec_prefix(given, number):
    assert version_number(given) == number


def test_the_month_comes_from_the_release_name_else_the_go_live_date():
    def release(name: str) -> Release:
        return Release(code="x", name=name, planned_go_live=dt.date(2021, 2, 24))

    assert release_month(release("February 2021 SEC Release"), dt.date(2021, 3, 1)) == "February 2021"
    assert release_month(release("An extra release"), dt.date(2021, 3, 1)) == "March 2021"


@pytest.mark.parametrize("action, after, shown", [
    ("notice.drafted", {"title": TITLE},
     f"Dana (DCC) completed go-live: the portal drafted the go-live notice “{TITLE}”."),
    ("notice.edited", {"title": "T", "summary": "S"}, "Dana (DCC) edited the draft go-live notice (title, summary)."),
    ("notice.published", {"title": TITLE}, f"Dana (DCC) published the go-live notice, “{TITLE}”."),
])
def test_the_audit_trail_reads_the_notice_events_as_sentences(action, after, shown):
    from types import SimpleNamespace

    event = SimpleNamespace(action=action, summary="Go-live notice", actor_id=1, actor_name="Dana",
                            details={"after": after, "before": {}})
    assert action in EVENT_NAMES
    assert sentence(event, Role.DCC.label, {}) == shown


def test_the_notice_pages_are_valid_html(app, live, secas, tmp_path):
    """The published notice, the list, SECAS's page and the confirmation, by the W3C checker as the other pages."""
    from test_html_valid import JAVA, VNU, _check

    if not (JAVA and VNU.exists()):
        pytest.skip(f"HTML validity not checked: no java or no {VNU}")
    documents = {"confirm": ("confirm", _publish(secas, live.code, confirmed=False).get_data(as_text=True))}
    assert _publish(secas, live.code).status_code == 303
    anonymous = PortalClient(app)
    for name, client, url in (("notice", anonymous, f"/notices/{live.code}"), ("list", anonymous, "/notices"),
                              ("manage", secas, f"/releases/{live.code}/notice"),
                              ("release", secas, f"/releases/{live.code}")):
        response = client.get(url)
        assert response.status_code == 200, url
        documents[name] = (f"GET {url}", response.get_data(as_text=True))
    problems = _check(documents, tmp_path / "html")
    assert not problems, "\n".join(problems)


def test_the_decision_pack_carries_the_notice_and_a_fresh_portal_gets_it_back(app, users, live, secas, tmp_path):
    assert _publish(secas, live.code).status_code == 303
    panel = client_for(app, users["panel"])
    pack = panel.get(f"/releases/{live.code}/pack.json").get_json()
    notice = pack["notice"]
    assert notice["state"] == "published" and notice["title"] == TITLE
    assert notice["published_by"] == users["secas"].email
    assert [m["reference"] for m in notice["modifications"]] == ["MP095", "MP122"]
    assert "Section J" in [d["name"] for d in notice["documents"]]

    reader = PdfReader(io.BytesIO(panel.get(f"/releases/{live.code}/pack.pdf").data))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Go-live notice" in text and TITLE in text and f"Published by {users['secas'].name}" in text
    assert "MP122 ‘Operational Metrics’" in text

    path = tmp_path / "pack.json"
    path.write_text(json.dumps(pack), encoding="utf-8")
    with app.app_context():  # a fresh portal
        db.session.remove()
        db.drop_all()
        db.create_all()
    result = app.test_cli_runner().invoke(args=["portal", "import-pack", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        again = build_pack(db.session.scalar(sa.select(Release).where(Release.code == live.code)))
    assert again["notice"] == notice


def test_a_release_that_is_not_live_has_no_notice_in_its_pack(app, users, make_release):
    release = make_release(Stage.OPSG_REVIEW)
    assert client_for(app, users["opsg"]).get(f"/releases/{release.code}/pack.json").get_json()["notice"] is None
