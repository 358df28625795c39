"""Bad input that used to reach a 500 (or the database): control characters, ids beyond the database's range,
a blank amount, and calendar tokens in the logs."""
from __future__ import annotations

import datetime as dt
import json
import runpy
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectField

from portal.auth.models import User
from portal.decisions.forms import BallotForm
from portal.extensions import db
from portal.ids import MAX_ID, coerce_id
from portal.ops.logs import redact_path
from portal.releases.models import CostItem

BASE = "/releases/feb-2021"
TOO_BIG = [str(MAX_ID + 1), str(2**63), str(2**64), "9" * 30]


def _users(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(sa.select(User.email)).all()


def test_a_nul_byte_at_sign_in_is_refused_naming_the_field(client, app):
    response = client.post_form("/login", {"email": "nul\x00user@example.org", "password": "x"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "There is a problem" in text
    assert "Email address contains a control character" in text


@pytest.mark.parametrize("email", ["nul\x00user@example.org", "bell\x07@example.org", "esc\x1b[31m@example.org"])
def test_an_account_with_a_control_character_is_never_created(client, users, app, email):
    client.login(users["secas"])
    before = _users(app)
    response = client.post_form("/admin/users/new", {"email": email, "name": "Nul User", "organisation": "DCC",
                                                    "role": "dcc"})
    assert response.status_code == 422
    assert "Email address contains a control character" in response.get_data(as_text=True)
    assert _users(app) == before


def test_a_control_character_in_a_textarea_is_refused_but_line_breaks_and_tabs_are_kept(client, users,
                                                                                        make_release, app):
    make_release()
    with app.app_context():
        item = db.session.scalars(sa.select(CostItem).filter_by(party="DCC")).one()
    client.login(users["secas"])
    url = f"{BASE}/costs/{item.id}/edit"
    refused = client.post_form(url, {"party": "DCC", "description": "Build\x00", "amount_pence": "1"}, htmx=True)
    assert refused.status_code == 422
    assert "contains a control character" in refused.get_data(as_text=True)
    kept = client.post_form(url, {"party": "DCC", "description": "Build\r\n\tand test", "amount_pence": "1"})
    assert kept.status_code in (200, 302, 303)
    with app.app_context():
        assert db.session.get(CostItem, item.id).description == "Build\r\n\tand test"


@pytest.mark.parametrize("path", [f"{BASE}%00", "/releases/feb%00-2021", "/releases/feb%09-2021",
                                  "/releases/feb%0A-2021", "/calendar/abc%00def.ics", "/nowhere%1b"])
def test_a_control_character_in_the_path_is_a_400(client, users, make_release, path):
    make_release()
    client.login(users["secas"])
    response = client.get(path)
    assert response.status_code == 400
    assert "address of the page contains a character that cannot be used" in response.get_data(as_text=True)


def test_a_control_character_in_the_query_is_a_400(client, users, make_release):
    make_release()
    client.login(users["secas"])
    assert client.get("/audit?kind=a%00b").status_code == 400
    assert client.get("/?page=1%01").status_code == 400
    assert client.get("/?page=1").status_code == 200


@pytest.mark.parametrize("number", TOO_BIG)
def test_ids_beyond_the_database_in_a_url_are_not_found(client, users, make_release, number):
    make_release()
    client.login(users["secas"])
    for url in (f"/evidence/{number}/download", f"/admin/users/{number}", f"{BASE}/costs/{number}/edit",
                f"{BASE}/criteria/{number}", f"{BASE}/rid/{number}.0"):
        assert client.get(url).status_code == 404, url
    assert client.post_form(f"/evidence/{number}/withdraw").status_code == 404


def test_the_largest_id_is_still_looked_up(client, users, make_release):
    make_release()
    client.login(users["secas"])
    assert client.get(f"/evidence/{MAX_ID}/download").status_code == 404  # matched, then not found


@pytest.mark.parametrize("number", TOO_BIG + ["-1"])
def test_ids_beyond_the_database_in_a_form_are_refused(app, number):
    class Choose(FlaskForm):
        pick = SelectField("Pick", coerce=coerce_id, choices=[(1, "One")])

    with app.test_request_context(method="POST"):
        ballot = BallotForm(MultiDict({"member_id": number, "choice": "go", "password": "x"}), meta={"csrf": False})
        assert not ballot.validate()
        assert ballot.errors["member_id"] == ["That is not one of the choices"]
        assert ballot.member_id.data is None
        choose = Choose(MultiDict({"pick": number}), meta={"csrf": False})
        assert not choose.validate()
        assert choose.pick.data is None or choose.pick.data <= MAX_ID


@pytest.mark.parametrize("typed", [" ", "   ", "\t", "\r\n"])
def test_a_blank_amount_asks_for_the_amount(client, users, make_release, app, typed):
    make_release()
    with app.app_context():
        item = db.session.scalars(sa.select(CostItem).filter_by(party="DCC")).one()
    client.login(users["secas"])
    response = client.post_form(f"{BASE}/costs/{item.id}/edit",
                                {"party": "DCC", "description": "x", "amount_pence": typed})
    assert response.status_code == 422
    assert "Enter the amount in pounds" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(CostItem, item.id).amount_pence == 34000000


def test_feed_tokens_never_reach_the_request_log(client, users, make_release, capsys):
    make_release()
    client.login(users["dcc"])
    assert client.post_form("/calendar/link").status_code == 303
    token = client.get("/calendar").get_data(as_text=True).split("/calendar/", 2)[-1]
    token = token.split(".ics", 1)[0].split("/", 1)[0]
    client.logout()
    capsys.readouterr()
    assert client.get(f"/calendar/{token}.ics").status_code == 200
    assert client.get(f"/calendar/{token}/feb-2021.ics").status_code == 200
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    paths = [e["path"] for e in lines if e.get("message") == "request"]
    assert paths == ["/calendar/[redacted].ics", "/calendar/[redacted]/feb-2021.ics", "/calendar/[redacted].ics"]
    assert token not in json.dumps(lines)


@pytest.mark.parametrize("path, logged", [
    ("/calendar/abc_-123.ics", "/calendar/[redacted].ics"),
    ("/calendar/abc/feb-2021.ics", "/calendar/[redacted]/feb-2021.ics"),
    ("/calendar", "/calendar"), ("/calendar/link", "/calendar/link"), ("/calendar/link/revoke", "/calendar/link/revoke"),
    ("/releases/feb-2021", "/releases/feb-2021"),
    ("/invitation/s3cret-TOKEN_1", "/invitation/[redacted]"), ("/password/reset/s3cret", "/password/reset/[redacted]"),
    ("/password/forgotten", "/password/forgotten"), ("/password/forgotten/sent", "/password/forgotten/sent"),
])
def test_redacted_paths(path, logged):
    assert redact_path(path) == logged


def test_feed_tokens_never_reach_the_access_log():
    from gunicorn.config import Config

    conf = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    logger = conf["RedactingLogger"](Config())

    class Response:
        status, sent, headers = "200 OK", 10, []

    for uri, shown in (("/calendar/s3cret_TOKEN.ics", "/calendar/[redacted].ics"),
                       ("/calendar/s3cret_TOKEN/feb-2021.ics?x=1", "/calendar/[redacted]/feb-2021.ics?x=1"),
                       ("/calendar/link", "/calendar/link"),
                       ("/invitation/s3cret_TOKEN", "/invitation/[redacted]"),
                       ("/password/reset/s3cret_TOKEN?x=1", "/password/reset/[redacted]?x=1")):
        path = uri.split("?")[0]
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": uri, "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1",
                   "QUERY_STRING": "", "HTTP_REFERER": f"https://portal.example{uri}"}
        atoms = logger.atoms(Response(), [], environ, dt.timedelta(milliseconds=5))
        assert atoms["r"] == f"GET {shown} HTTP/1.1"
        assert atoms["U"] == shown.split("?")[0]
        assert atoms["f"] == f"https://portal.example{shown}"
        assert "s3cret" not in logger.cfg.access_log_format % atoms


@pytest.mark.parametrize("number", TOO_BIG + ["-" + n for n in TOO_BIG])
def test_numbers_beyond_the_database_in_the_query_are_ignored(client, users, make_release, number):
    make_release()
    client.login(users["secas"])
    for url in (f"/?page={number}", f"/audit?before={number}", f"/audit?after={number}",
                f"{BASE}/audit?before={number}", f"/notifications?before={number}"):
        assert client.get(url).status_code == 200, url
