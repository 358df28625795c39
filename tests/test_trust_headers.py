"""Security headers on every GET route, for every kind of visitor; session cookies and a new session at login."""
from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from config import Config, TestConfig
from portal import create_app
from portal.access import Role
from portal.auth.models import LoginAttempt
from portal.extensions import db

from conftest import PASSWORD

SAMPLE_ARGS = {"code": "feb-2021", "filename": "css/portal.css"}
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.I)
NONCE = re.compile(r"'nonce-([^']+)'")


def _sample_url(rule) -> str:
    args = {name: SAMPLE_ARGS.get(name, 1) for name in rule.arguments}
    return rule.build(args, append_unknown=False)[1]


def get_urls(app) -> list[str]:
    return sorted({_sample_url(rule) for rule in app.url_map.iter_rules() if "GET" in rule.methods})


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_secure_headers(response, url: str, *, https: bool = False) -> None:
    where = f"{url} ({response.status_code})"
    assert response.status_code < 500, where
    csp = csp_directives(response.headers["Content-Security-Policy"])
    everything = " ".join(" ".join(v) for v in csp.values())
    assert "'unsafe-inline'" not in everything and "'unsafe-eval'" not in everything, where
    assert csp["script-src"][0] == "'self'" and len(csp["script-src"]) == 2, where
    nonce = NONCE.fullmatch(csp["script-src"][1]).group(1)
    assert csp["style-src"] == ["'self'"], where
    assert csp["frame-ancestors"] == ["'none'"], where
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"], where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), where
    assert response.headers["X-Frame-Options"] == "DENY", where
    if https:
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000"), where
    else:
        assert "Strict-Transport-Security" not in response.headers, where
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        for tag in SCRIPT_TAG.findall(html):
            assert f'nonce="{nonce}"' in tag, f"{where}: script without this response's nonce: {tag}"
        assert not re.search(r"<style\b|\sstyle=", html, re.I), f"{where}: inline style"
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), f"{where}: inline event handler"


@pytest.fixture
def walk(app, client, make_release):
    make_release()
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)

    def visit(user=None, *, base_url="http://localhost") -> int:
        http = app.test_client()
        if user is not None:
            signed_in = http.post("/login", data={"email": user.email, "password": PASSWORD,
                                                  "csrf_token": _token(http, base_url)},
                                  base_url=base_url, headers={"Referer": f"{base_url}/login"})
            assert signed_in.status_code == 302
        urls = get_urls(app)
        for url in urls:
            response = http.get(url, base_url=base_url)
            assert_secure_headers(response, url, https=base_url.startswith("https"))
        return len(urls)

    return visit


def _token(http, base_url) -> str:
    page = http.get("/login", base_url=base_url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_every_get_route_has_the_security_headers_anonymous(walk):
    assert walk() >= 10


@pytest.mark.parametrize("role, admin", [(Role.SECAS, True), (Role.DCC, False), (Role.OPSG, False),
                                         (Role.PANEL, False)])
def test_every_get_route_has_the_security_headers_signed_in(walk, make_user, role, admin):
    walk(make_user(role, admin=admin))


def test_hsts_is_sent_over_https_only(walk, users):
    walk(users["secas"], base_url="https://localhost")


def test_signed_in_pages_are_not_cached(client, users):
    client.login(users["dcc"])
    assert client.get("/tasks").headers["Cache-Control"] == "no-store"


def _session_cookie(response):
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "no session cookie set"
    return cookies[-1]


def test_session_cookie_is_httponly_and_lax(client, users):
    cookie = _session_cookie(client.login(users["dcc"]))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_session_cookie_is_secure(tmp_path, db_url, make_user):
    production = type("Production", (Config,), {
        "SECRET_KEY": "production-test", "SQLALCHEMY_DATABASE_URI": db_url,
        "UPLOAD_FOLDER": str(tmp_path / "evidence"), "AUDIT_KEY": "production-test-audit-key-0000000000",
        "AUDIT_SIGNING_KEY": "44" * 32, "AUDIT_WITNESS_PATH": str(tmp_path / "audit-witness.jsonl")})
    app = create_app(production)
    with app.app_context():
        db.create_all()
    user = make_user(Role.DCC)
    http = app.test_client()
    base = "https://localhost"
    response = http.post("/login", data={"email": user.email, "password": PASSWORD,
                                         "csrf_token": _token(http, base)}, base_url=base,
                         headers={"Referer": f"{base}/login"})  # CSRF checks the referrer over https
    assert response.status_code == 302
    cookie = _session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_login_starts_a_new_session(client, users):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker before sign-in"
    old_token = client.csrf_token()
    client.login(users["secas"])
    with client.session_transaction() as session:
        assert "planted" not in session
    # A CSRF token from before sign-in belongs to the old session and no longer works.
    response = client.post_form("/admin/users/new", {"csrf_token": old_token, "email": "a@example.org",
                                                    "name": "A", "organisation": "DCC", "role": "dcc"})
    assert response.status_code == 400


def test_login_redirects_only_to_the_portals_own_paths(app, users):
    targets = {"https://evil.example/": "/", "//evil.example/x": "/", "/\\evil.example": "/",
               "javascript:alert(1)": "/", "/tasks": "/tasks"}
    for target, landing in targets.items():
        http = app.test_client()
        response = http.post(f"/login?next={target}", data={
            "email": users["dcc"].email, "password": PASSWORD, "csrf_token": _token(http, "http://localhost")})
        assert response.status_code == 302
        assert response.headers["Location"] == landing, target


@pytest.mark.parametrize("hops, recorded", [(0, "10.0.1.10"), (1, "198.51.100.7")])
def test_the_client_address_is_the_one_the_trusted_proxy_saw(app_config, hops, recorded):
    """Behind HAProxy (PROXY_HOPS=1) a failed sign-in is recorded against the client's address, the last one in
    X-Forwarded-For (HAProxy's `option forwardfor` appends it), never one the client wrote itself; with no proxy
    configured the header is ignored. Throttling by address then counts each client, not the load balancer."""
    app = create_app(type("Behind", (TestConfig,), {**app_config, "PROXY_HOPS": hops}))
    with app.app_context():
        db.create_all()
    http = app.test_client()
    http.get("/login")
    response = http.post("/login", data={"email": "nobody@example.org", "password": "wrong",
                                         "csrf_token": _token(http, "http://localhost")},
                         environ_base={"REMOTE_ADDR": "10.0.1.10"},
                         headers={"X-Forwarded-For": "203.0.113.66, 198.51.100.7"})
    assert response.status_code == 401  # a wrong password
    with app.app_context():
        assert list(db.session.scalars(sa.select(LoginAttempt.remote_addr))) == [recorded]
        db.session.remove()
        db.engine.dispose()
