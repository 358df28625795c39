"""Faults: a process killed mid-write leaves no half-written change; a database outage under load gives
503s only while it lasts, and every change that was saved is whole (a row and its audit event)."""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.audit.services import verify_chain
from portal.auth.models import User
from portal.decisions.models import Ballot, Vote
from portal.extensions import db
from portal.releases.models import Stage

from conftest import PASSWORD, PortalClient
from decisions_support import assess_all, client_for, open_vote, recommend
from trust_helpers import DatabaseSwitch

ROOT = Path(__file__).resolve().parent.parent

# A worker that writes accounts, each with its audit event, in one transaction apiece.
WRITER = """
import os, sys, time
sys.path.insert(0, os.getcwd())
from config import TestConfig
from portal import create_app
from portal.access import Role
from portal.auth import services
from portal.extensions import db

config = type("Worker", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": os.environ["DB_URL"]})
app = create_app(config)
hold = os.environ.get("HOLD") == "1"
with app.app_context():
    n = 0
    while True:
        services.create_user(None, email=f"w{os.getpid()}-{n}@example.org", name=f"Worker {n}",
                             organisation="DCC", role=Role.DCC, password="a long enough password")
        db.session.flush()
        if hold:
            print("WRITTEN-NOT-COMMITTED", flush=True)
            time.sleep(60)
        db.session.commit()
        n += 1
        print(f"COMMITTED {n}", flush=True)
"""


def _start_writer(db_url: str, hold: bool) -> subprocess.Popen:
    env = dict(os.environ, DB_URL=db_url, HOLD="1" if hold else "0")
    return subprocess.Popen([sys.executable, "-c", WRITER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


def _counts(app) -> tuple[int, int, set[int], set[int]]:
    with app.app_context():
        db.session.remove()
        user_ids = set(db.session.scalars(sa.select(User.id)))
        created = set(db.session.scalars(
            sa.select(AuditEvent.object_id).where(AuditEvent.action == "user.created")))
        return len(user_ids), len(created), user_ids, created


def test_killed_before_commit_leaves_neither_row_nor_event(app, db_url):
    worker = _start_writer(db_url, hold=True)
    assert worker.stdout.readline().strip() == "WRITTEN-NOT-COMMITTED"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    users, events, _, _ = _counts(app)
    assert users == 0 and events == 0
    with app.app_context():
        assert verify_chain().ok
        # The dead writer's lock is gone: the portal can write again at once.
        from portal.auth import services
        services.create_user(None, email="after@example.org", name="After", organisation="DCC", role=Role.DCC)
        db.session.commit()
    assert _counts(app)[:2] == (1, 1)


@pytest.mark.parametrize("run_for", [0.3, 0.7])
def test_killed_at_any_moment_every_saved_row_has_its_event(app, db_url, run_for):
    worker = _start_writer(db_url, hold=False)
    assert worker.stdout.readline().startswith("COMMITTED")
    time.sleep(run_for)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    users, events, user_ids, created = _counts(app)
    assert users > 0
    assert user_ids == created  # a row if and only if its audit event
    with app.app_context():
        assert verify_chain().ok


# A worker that casts (and changes) Panel ballots through the service, one transaction apiece.
VOTER = """
import itertools, os, sys
sys.path.insert(0, os.getcwd())
from config import TestConfig
from portal import create_app
from portal.auth.models import User
from portal.decisions.models import Choice, Vote
from portal.decisions.services import cast_vote
from portal.extensions import db

config = type("Worker", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": os.environ["DB_URL"]})
app = create_app(config)
member_ids = [int(i) for i in os.environ["MEMBERS"].split(",")]
choices = list(Choice)
with app.app_context():
    vote = db.session.get(Vote, int(os.environ["VOTE_ID"]))
    for n in itertools.count(1):
        member = db.session.get(User, member_ids[n % len(member_ids)])
        cast_vote(member, vote, member_id=member.id, choice=choices[n % len(choices)], comment=f"Ballot {n}",
                  password=os.environ["PASSWORD"])
        db.session.commit()
        print(f"COMMITTED {n}", flush=True)
"""


def _ballots_and_events(app) -> tuple[list[int], list[int], int, int]:
    """Ballot ids, the ballot ids the audit trail names, current ballots, members with a ballot."""
    with app.app_context():
        db.session.remove()
        ballots = sorted(db.session.scalars(sa.select(Ballot.id)))
        events = sorted(db.session.scalars(sa.select(AuditEvent.object_id)
                                           .where(AuditEvent.action.in_(["vote.ballot_cast", "vote.ballot_changed"]))))
        current = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(Ballot.is_current))
        members = db.session.scalar(sa.select(sa.func.count(sa.distinct(Ballot.member_id))))
        return ballots, events, current, members


def test_killed_mid_vote_a_ballot_exists_if_and_only_if_its_audit_event_does(app, db_url, users, make_release,
                                                                                make_user):
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    assert recommend(client_for(app, users["opsg_chair"]), release.code).status_code == 303
    panel = [users["panel_chair"], users["panel"]] + [make_user(Role.PANEL) for _ in range(3)]
    assert open_vote(client_for(app, users["panel_chair"]), release.code).status_code == 303
    with app.app_context():
        vote_id = db.session.scalar(sa.select(Vote.id))
    env = dict(os.environ, DB_URL=db_url, VOTE_ID=str(vote_id), PASSWORD=PASSWORD,
               MEMBERS=",".join(str(m.id) for m in panel))
    seen = 0
    for run_for in [random.uniform(0.0, 0.5) for _ in range(4)]:
        worker = subprocess.Popen([sys.executable, "-c", VOTER], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  text=True)
        assert worker.stdout.readline().startswith("COMMITTED"), "the voter did not get going"
        time.sleep(run_for)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        ballots, events, current, members = _ballots_and_events(app)
        assert ballots == events, f"killed after {run_for:.2f}s: ballots and ballot audit events differ"
        assert len(ballots) > seen  # every round saved something, and nothing saved earlier was lost
        assert current == members <= len(panel)
        seen = len(ballots)
    with app.app_context():
        assert verify_chain().ok


def test_database_cut_under_load_gives_503_only_while_down(app, users, make_release):
    make_release()
    switch = DatabaseSwitch(app)
    results: list[tuple[str, int, bool]] = []  # (kind, status, the outage overlapped the request)
    outage = {"began": None, "ended": None}
    stop = threading.Event()
    errors = []

    def overlapped(started: float, finished: float) -> bool:
        began, ended = outage["began"], outage["ended"]
        return began is not None and started <= (ended or finished) and finished >= began

    # Sign in and fetch tokens before the outage: under load a thread may start late.
    browsers = [PortalClient(app) for _ in range(2)]
    for client in browsers:
        client.login(users["dcc"])
    writers = []
    for _ in range(2):
        client = PortalClient(app)
        client.login(users["secas"])
        page = client.get("/admin/users/new").get_data(as_text=True)
        writers.append((client, re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)))

    def browse(client):
        while not stop.is_set():
            started = time.monotonic()
            status = client.get("/").status_code
            results.append(("get", status, overlapped(started, time.monotonic())))

    def add_users(worker: int):
        client, token = writers[worker]
        n = 0
        while not stop.is_set():
            n += 1
            email = f"load{worker}-{n}@example.org"
            started = time.monotonic()
            status = client.post("/admin/users/new", data={
                "csrf_token": token, "email": email, "name": f"Load {n}", "organisation": "DCC",
                "role": "dcc"}).status_code
            results.append((email, status, overlapped(started, time.monotonic())))

    def guarded(target, *args):
        try:
            target(*args)
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=(browse, client)) for client in browsers]
    threads += [threading.Thread(target=guarded, args=(add_users, i)) for i in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    outage["began"] = time.monotonic()
    switch.cut()
    time.sleep(0.7)
    switch.restore()
    outage["ended"] = time.monotonic()
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors

    statuses = {status for _, status, _ in results}
    assert statuses <= {200, 303, 503}, statuses
    assert any(status == 503 for _, status, _ in results), "the outage was not noticed"
    assert all(during for _, status, during in results if status == 503), "a 503 outside the outage"
    after = [status for kind, status, during in results if not during and kind]
    assert after and all(status in (200, 303) for status in after[-4:])
    # No partial writes: every account saved has its audit event, and only the accepted posts were saved.
    _, _, user_ids, created = _counts(app)
    assert user_ids == created
    with app.app_context():
        saved = set(db.session.scalars(sa.select(User.email).where(User.email.like("load%"))))
        assert verify_chain().ok
    accepted = {email for email, status, _ in results if email != "get" and status == 303}
    assert accepted <= saved
    # A post can be saved whole and still answer 503, if the outage hit while the page after it was built.
    assert all(status == 503 and during for email, status, during in results if email in saved - accepted)
