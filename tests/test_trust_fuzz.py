"""Hostile input over every form and path parameter: arbitrary text, bytes, control characters and numbers
beyond the database never cause a 500, a rejected post commits no row and no audit event, and no control
character is ever written."""
from __future__ import annotations

import importlib
import io
import os
import pkgutil
import re
import threading
import urllib.parse

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

import portal
from portal.access import Role
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.ids import MAX_ID
from portal.security import TEXT_CONTROL_RE
from portal.workflow import ACTIONS

from conftest import PortalClient


def _form_fields() -> list[str]:
    """Every field name of every form in the portal (each post gets values for all of them)."""
    names = set()
    for info in pkgutil.walk_packages(portal.__path__, "portal."):
        if info.name.endswith(".forms") or "_forms" in info.name:
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if isinstance(obj, type) and issubclass(obj, FlaskForm):
                    names |= {n for n in dir(obj) if isinstance(getattr(obj, n, None), UnboundField)}
    return sorted(names - {"csrf_token", "submit"})


FIELDS = _form_fields()
HOSTILE = ["", " ", "0", "1", "-1", "99999999999999999999", "1e308", "NaN", "2021-02-25", "31/02/2021",
           "dcc", "secas", "opsg", "panel", "y", "on", "met", "not_met", "go", "no_go", "abstain",
           "<script>alert(1)</script>", "\" onmouseover=alert(1) x=\"", "../../../etc/passwd", "a\x00b",
           "'; DROP TABLE user; --", "x" * 5000, "😀" * 50, "\u202e\u0000\ufeff", "name@example.org",
           "\x00", "nul\x00user@example.org", "feb\x00-2021", "\x01\x07\x08\x0b\x0c\x1b[31m\x1f", "\x7f",
           "line\r\nbreak", "tab\there", "\r", "\n", " \t ",
           str(MAX_ID), str(MAX_ID + 1), str(2**63 - 1), str(2**63), str(2**64), "-" + str(2**63 + 1)]
# Text made mostly of control characters (st.text() alone rarely draws them), and integers around and beyond
# what the database holds (PostgreSQL INTEGER, SQLite's 64 bits).
controls = st.text(alphabet=st.one_of(st.characters(max_codepoint=0x1f), st.sampled_from("a1@. ")),
                   min_size=1, max_size=30)
big_ints = st.one_of(st.integers(min_value=MAX_ID - 2, max_value=2**65), st.integers(max_value=-(2**31)))
value = st.one_of(st.text(max_size=200), st.sampled_from(HOSTILE), st.binary(max_size=100),
                  st.integers().map(str), controls, big_ints.map(str))
form_data = st.fixed_dictionaries({name: st.one_of(st.none(), value, st.lists(value, min_size=2, max_size=3))
                                   for name in FIELDS})
# Each run draws fresh examples, so every run tries new input: 30 a form (about 5,000 requests in all) keeps the
# suite within its time budget; FUZZ_EXAMPLES=1000 searches harder (e.g. before a release of the portal).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Refusals of an input: nothing of it may be stored.
REJECTED = {400, 403, 404, 405, 409, 413, 422}
# A failed sign-in is recorded (throttling and the audit trail need it), but nothing else is.
SIGN_IN_RECORDS = {"login_attempt", "audit_event"}
WRITE_RE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)


def _control_strings(params) -> list[str]:
    """The bound string parameters of a statement that hold a control character the portal refuses."""
    if isinstance(params, dict):
        params = list(params.values())
    found = []
    for item in params if isinstance(params, (list, tuple)) else [params]:
        if isinstance(item, (list, tuple, dict)):
            found += _control_strings(item)
        elif isinstance(item, str) and TEXT_CONTROL_RE.search(item):
            found.append(item)
    return found


class CommittedWrites:
    """Which tables had rows written by a transaction that committed (watched at the engine), and any control
    character such a write carried."""

    def __init__(self, engine):
        self.pending: dict[int, set[str]] = {}
        self.committed: list[str] = []
        self.controls: list[str] = []
        self.lock = threading.Lock()
        sa.event.listen(engine, "before_cursor_execute", self._execute)
        sa.event.listen(engine, "commit", self._commit)
        sa.event.listen(engine, "rollback", self._rollback)

    def _execute(self, conn, cursor, statement, params, context, executemany):
        match = WRITE_RE.match(statement)
        if match:
            with self.lock:
                self.pending.setdefault(id(conn), set()).add(match.group(1).lower())
                self.controls += _control_strings(params)

    def _commit(self, conn):
        with self.lock:
            self.committed += sorted(self.pending.pop(id(conn), ()))

    def _rollback(self, conn):
        with self.lock:
            self.pending.pop(id(conn), None)

    def take(self) -> list[str]:
        with self.lock:
            taken, self.committed = self.committed, []
        return taken

    def take_controls(self) -> list[str]:
        with self.lock:
            taken, self.controls = self.controls, []
        return taken


def _actor_key(view) -> str | None:
    roles = getattr(view, "allowed_roles", None)
    if roles is None:
        return None
    if Role.SECAS in roles:
        return "secas"
    for role, key in ((Role.PANEL, "panel_chair"), (Role.OPSG, "opsg_chair"), (Role.DCC, "dcc")):
        if role in roles:
            return key
    raise AssertionError(f"no test user for {view}")


def _post_routes():
    app = portal.create_app(type("Probe", (__import__("config").TestConfig,), {"SQLALCHEMY_DATABASE_URI": "sqlite://"}))
    routes = []
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and rule.endpoint != "auth.logout":
            routes.append(pytest.param(rule.rule, rule.endpoint, _actor_key(app.view_functions[rule.endpoint]),
                                       id=rule.endpoint))
    return sorted(routes, key=lambda p: p.id)


def _url(rule: str, users, hostile: dict[str, str] | None = None) -> str:
    """The rule with ordinary values for its parameters, except those given in `hostile` (sent URL-encoded)."""
    samples = {"code": "feb-2021", "user_id": str(users["dcc"].id), "name": ACTIONS[0].name}
    hostile = hostile or {}
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: urllib.parse.quote(hostile[m.group(1)], safe="")
                  if m.group(1) in hostile else samples.get(m.group(1), "1"), rule)


def _encode(data: dict, token: str, multipart: bool):
    """The form body: raw bytes are sent as they are, not as UTF-8 text."""
    pairs = [("csrf_token", token)]
    for name, val in data.items():
        for item in (val if isinstance(val, list) else [val]):
            if item is not None:
                pairs.append((name, item))
    if multipart:
        fields = {}
        for name, item in pairs:
            if isinstance(item, bytes):
                item = (io.BytesIO(item), "upload.bin")
            fields.setdefault(name, []).append(item)
        return fields, "multipart/form-data"
    return urllib.parse.urlencode(pairs, doseq=True), "application/x-www-form-urlencoded"


@pytest.mark.parametrize("rule, endpoint, actor", _post_routes())
def test_form_survives_hostile_input(app, users, make_release, rule, endpoint, actor):
    make_release()
    client = PortalClient(app)
    if actor:
        client.login(users[actor])
    url = _url(rule, users)
    with app.app_context():
        writes = CommittedWrites(db.engine)
    state = {"token": client.csrf_token()}

    def audit_count() -> int:
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))

    @FUZZ
    @given(data=form_data, multipart=st.booleans(), htmx=st.booleans())
    def post(data, multipart, htmx):
        body, content_type = _encode(data, state["token"], multipart)
        events_before = audit_count()
        writes.take()
        writes.take_controls()
        response = client.post(url, data=body, content_type=content_type,
                               headers={"HX-Request": "true"} if htmx else {})
        text = response.get_data(as_text=True)
        assert response.status_code < 500, text[:2000]
        assert "Traceback" not in text
        committed = writes.take()
        assert writes.take_controls() == [], "a control character was written to the database"
        if response.status_code in REJECTED:
            # A wrong password typed to sign is counted by the sign-in throttle and audited, even though refused.
            wrong_password = committed == ["audit_event", "login_attempt"]
            assert committed == [] or wrong_password, f"{response.status_code} but wrote {committed}"
            assert audit_count() == events_before + wrong_password
        elif response.status_code in (401, 429):
            assert set(committed) <= SIGN_IN_RECORDS, committed
        if response.status_code == 400 and "form has expired" in text:
            state["token"] = client.csrf_token()  # a sign-in started a new session

    post()


GET_FORM_RE = re.compile(r'<form\b[^>]*method="get"[^>]*>(.*?)</form>', re.I | re.S)
INPUT_NAME_RE = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', re.I)


def _get_forms(app, client, users) -> list[tuple[str, list[str]]]:
    """The GET forms (filters, searches) on every page the admin can open, with their field names."""
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = _url(rule.rule, users)
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for form in GET_FORM_RE.findall(response.get_data(as_text=True)):
            found.append((url, sorted(set(INPUT_NAME_RE.findall(form)))))
    return found


def test_get_forms_survive_hostile_input(app, users, make_release):
    make_release()
    client = PortalClient(app)
    client.login(users["secas"])
    forms = _get_forms(app, client, users)
    assert forms, "no filter forms found"
    for url, names in forms:
        query = st.fixed_dictionaries({n: st.one_of(st.none(), value, st.lists(value, min_size=2, max_size=4))
                                       for n in names})

        @FUZZ
        @given(args=query, htmx=st.booleans())
        def search(args, htmx):
            pairs = [(k, v) for k, vals in args.items() if vals is not None
                     for v in (vals if isinstance(vals, list) else [vals])]
            response = client.get(f"{url}?{urllib.parse.urlencode(pairs)}",
                                  headers={"HX-Request": "true"} if htmx else {})
            assert response.status_code < 500, (url, response.get_data(as_text=True)[:500])

        search()


def _param_routes():
    """Every route with path parameters (the method it answers, its rule), one test each."""
    app = portal.create_app(type("Probe", (__import__("config").TestConfig,), {"SQLALCHEMY_DATABASE_URI": "sqlite://"}))
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.arguments and rule.endpoint != "static":
            method = "GET" if "GET" in rule.methods else "POST"
            routes.append(pytest.param(rule.rule, method, _actor_key(app.view_functions[rule.endpoint]),
                                       id=f"{rule.endpoint}-{method}"))
    return sorted(routes, key=lambda p: p.id)


PARAM_RE = re.compile(r"<(?:(\w+):)?(\w+)>")
# A path parameter: a control character somewhere in ordinary text, or (for <int:...>) a number near or beyond
# what the database holds.
text_param = st.one_of(controls, st.sampled_from([h for h in HOSTILE if h and len(h) < 100]),
                       st.tuples(st.sampled_from(["feb-2021", "1", ACTIONS[0].name]), controls).map("".join))
int_param = st.one_of(big_ints.filter(lambda n: n >= 0), st.sampled_from([0, 1, MAX_ID, 2**63, 2**64]))
PATH_FUZZ = settings(FUZZ, max_examples=max(EXAMPLES // 8, 10))


@pytest.mark.parametrize("rule, method, actor", _param_routes())
def test_path_parameters_survive_hostile_values(app, users, make_release, rule, method, actor):
    make_release()
    client = PortalClient(app)
    if actor:
        client.login(users[actor])
    token = client.csrf_token()
    params = PARAM_RE.findall(rule)
    with app.app_context():
        writes = CommittedWrites(db.engine)

    @PATH_FUZZ
    @given(values=st.tuples(*[int_param if conv == "int" else text_param for conv, _ in params]),
           which=st.integers(min_value=0, max_value=len(params) - 1))
    def visit(values, which):
        # One parameter hostile, the others ordinary, so the hostile one is what the route meets.
        (conv, name), chosen = params[which], values[which]
        hostile = str(chosen)
        path = _url(rule, users, {name: hostile})
        writes.take()
        writes.take_controls()
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": token})
        text = response.get_data(as_text=True)
        assert response.status_code < 500, (path, text[:1000])
        assert "Traceback" not in text
        if re.search(r"[\x00-\x1f\x7f]", hostile):
            assert response.status_code == 400, path
        if conv == "int" and chosen > MAX_ID:
            assert response.status_code in (404, 405), path  # no rule matches (405: werkzeug saw the other method)
        assert writes.take_controls() == [], "a control character was written to the database"
        if response.status_code in REJECTED:
            assert writes.take() == [], f"{response.status_code} but wrote to the database"

    visit()
