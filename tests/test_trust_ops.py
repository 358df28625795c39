"""Failure behaviour: /healthz, JSON logs with request ids, 503 with a reference while the database is down."""
from __future__ import annotations

import json
import os
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db

from trust_helpers import DatabaseSwitch


def _log_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def evidence_dir(app):
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)
    return app.config["UPLOAD_FOLDER"]


def test_healthz_reports_database_and_storage(client, evidence_dir):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "storage": "ok"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_healthz_is_503_when_storage_is_missing(client, app):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["storage"] == "missing"
    assert response.json["database"] == "ok"


def test_healthz_is_503_when_storage_is_not_writable(client, evidence_dir, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("portal.ops.views.tempfile.NamedTemporaryFile", full_disk)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["storage"] == "not writable"


def test_database_outage_gives_503_with_reference_then_recovers(app, client, users, evidence_dir, capsys):
    client.login(users["dcc"])
    switch = DatabaseSwitch(app)
    assert client.get("/").status_code == 200

    switch.cut()
    capsys.readouterr()
    page = client.get("/", headers={"X-Request-Id": "ref-outage-1"})
    body = page.get_data(as_text=True)
    assert page.status_code == 503
    assert "cannot reach its database" in body
    assert "ref-outage-1" in body
    assert "Traceback" not in body and "OperationalError" not in body
    health = app.test_client().get("/healthz")  # a load balancer sends no session cookie
    assert health.status_code == 503 and health.json["database"] == "unreachable"
    logged = _log_lines(capsys.readouterr().err)
    assert any(e["request_id"] == "ref-outage-1" and e["message"] == "database unavailable" for e in logged)
    assert any(e["request_id"] == "ref-outage-1" and e.get("status") == 503 for e in logged)

    switch.restore()
    assert client.get("/").status_code == 200  # no restart: the pool reconnects by itself
    assert app.test_client().get("/healthz").status_code == 200


def test_outage_during_a_form_post_saves_nothing(app, client, users, evidence_dir):
    client.login(users["secas"])
    switch = DatabaseSwitch(app)
    token = client.csrf_token()
    switch.cut()
    response = client.post("/admin/users/new", data={
        "csrf_token": token, "email": "new.person@example.org", "name": "New Person",
        "organisation": "DCC", "role": "dcc"})
    assert response.status_code == 503
    switch.restore()
    with app.app_context():
        from portal.auth.models import User
        assert db.session.scalar(sa.select(User).where(User.email == "new.person@example.org")) is None


def test_htmx_outage_answers_a_fragment_with_the_reference(app, client, users, evidence_dir):
    client.login(users["dcc"])
    switch = DatabaseSwitch(app)
    switch.cut()
    response = client.get("/", headers={"HX-Request": "true", "X-Request-Id": "ref-htmx-2"})
    switch.restore()
    assert response.status_code == 503
    assert response.headers["HX-Retarget"] == "#portal-messages"
    assert "ref-htmx-2" in response.get_data(as_text=True)


def test_every_request_is_one_json_log_line(client, users, capsys):
    client.login(users["dcc"])
    capsys.readouterr()
    client.get("/tasks", headers={"X-Request-Id": "abc123"})
    entries = [e for e in _log_lines(capsys.readouterr().err) if e["request_id"] == "abc123"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["message"] == "request" and entry["level"] == "INFO"
    assert entry["method"] == "GET" and entry["path"] == "/tasks" and entry["status"] == 200
    assert entry["user_id"] == users["dcc"].id
    assert isinstance(entry["duration_ms"], float)
    assert re.match(r"\d{4}-\d\d-\d\dT", entry["time"])


def test_failed_login_is_logged_with_reason(client, users, capsys):
    capsys.readouterr()
    response = client.post_form("/login", {"email": users["dcc"].email, "password": "wrong password!"})
    assert response.status_code == 401
    entries = _log_lines(capsys.readouterr().err)
    failed = [e for e in entries if e["message"] == "login failed"]
    assert failed and failed[0]["email"] == users["dcc"].email and failed[0]["reason"]
    assert "wrong password!" not in json.dumps(entries)


def test_refused_action_is_logged_with_reason(client, users, capsys):
    client.login(users["dcc"])
    capsys.readouterr()
    assert client.get("/admin/users").status_code == 403
    refused = [e for e in _log_lines(capsys.readouterr().err) if e["message"] == "refused"]
    assert refused and refused[0]["status"] == 403 and refused[0]["path"] == "/admin/users"
    assert refused[0]["user_id"] == users["dcc"].id and "role" in refused[0]["reason"]
