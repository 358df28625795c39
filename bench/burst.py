"""Signing under a burst: 20 Panel members x 10 simultaneous signed ballots, then a close racing 60 more ballots,
against the portal under gunicorn (2 sync workers) and under the development server (threaded), on loopback.

    .venv/bin/python bench/burst.py [--members 20] [--ballots 10] [--racers 60] [--only gunicorn|dev]

The database is SQLite (a fresh file per run in the work folder), or PostgreSQL when TEST_DATABASE_URL or
DATABASE_URL is given (its public schema is dropped and made again for each run). Passwords use the real argon2
profile. Each ballot carries a comment naming its request, so every answer can be matched with what was stored.
Prints, per server: the count of 5xx answers, the current ballots per member, the answers untrue to what was
stored (a "done" with no ballot, a refusal with one), and the close's time against the latest counted ballot.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from session import HOST, Session, fire, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "burst-bench-password-2026"
AUDIT_KEY = "dev-only-audit-key-not-secret-0000"
AUDIT_SIGNING_KEY = hashlib.sha256(b"dev-only-signing-key").hexdigest()


def prepare(database_url: str, members: int, work: Path) -> dict:
    """A fresh database: the demo release with every criterion assessed, the recommendation and an open vote."""
    os.environ["DATABASE_URL"] = database_url
    sys.path.insert(0, str(ROOT))
    import sqlalchemy as sa

    if database_url.startswith("postgresql"):
        engine = sa.create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    from config import DevelopmentConfig
    from portal import create_app
    from portal.access import Role
    from portal.auth.services import create_user
    from portal.criteria.models import AssessmentKind, AssessmentStatus
    from portal.criteria.services import assess_criterion
    from portal.decisions import services as decisions
    from portal.decisions.models import RecommendationKind
    from portal.extensions import db
    from portal.releases import demo
    from portal.releases.models import Stage

    config = type("BurstConfig", (DevelopmentConfig,), {"SQLALCHEMY_DATABASE_URI": database_url,
                                                        "SQLALCHEMY_ENGINE_OPTIONS": {},
                                                        "AUDIT_WITNESS_PATH": str(work / "witness.jsonl")})
    app = create_app(config)
    with app.app_context():
        db.create_all()

        def user(role, n, **kw):
            return create_user(None, email=f"{role.value}{n}@burst.example.org", name=f"{role.label} {n}",
                               organisation=role.label, role=role, password=PASSWORD, must_change_password=False,
                               **kw)[0]

        opsg_chair, opsg = user(Role.OPSG, 1, is_chair=True), user(Role.OPSG, 2)
        panel = [user(Role.PANEL, 1, is_chair=True)] + [user(Role.PANEL, n) for n in range(2, members + 1)]
        release, _ = demo.load_demo_release()
        release.stage = Stage.OPSG_REVIEW
        db.session.commit()
        for criterion in release.criteria:
            assess_criterion(opsg, criterion, AssessmentStatus.MET, "Evidence reviewed.", AssessmentKind.FINAL,
                             PASSWORD)
        db.session.commit()
        decisions.record_recommendation(opsg_chair, release, kind=RecommendationKind.AS_PLANNED, conditions=[],
                                        reasons="All criteria are met.", password=PASSWORD)
        db.session.commit()
        vote = decisions.open_vote(panel[0], release)
        db.session.commit()
        facts = {"code": release.code, "vote_id": vote.id, "members": [(m.id, m.email) for m in panel]}
        db.session.remove()
        db.engine.dispose()
    return facts


def start(kind: str, port: int, database_url: str, work: Path):
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "burst-bench-only", "AUDIT_KEY": AUDIT_KEY,
           "AUDIT_SIGNING_KEY": AUDIT_SIGNING_KEY, "AUDIT_WITNESS_PATH": str(work / "witness.jsonl"),
           "UPLOAD_FOLDER": str(work / "evidence"), "LOG_LEVEL": "WARNING"}
    log = open(work / f"{kind}.log", "w")
    if kind == "gunicorn":
        env.update(BIND=f"{HOST}:{port}", WEB_CONCURRENCY="2", GUNICORN_MAX_REQUESTS="0", PORTAL_CONFIG="production")
        command = [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "app:create_app()"]
    else:
        env.update(PORTAL_CONFIG="development")
        command = [str(ROOT / ".venv/bin/flask"), "--app", "app", "run", "--host", HOST, "--port", str(port),
                   "--no-reload", "--no-debugger"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, proc)
    return proc


def ballot(client: Session, port: int, code: str, member_id: int, choice: str, tag: str):
    return client.request(port, "POST", f"/releases/{code}/vote/ballot",
                          {"csrf_token": client.token, "member_id": str(member_id), "choice": choice,
                           "comment": tag, "password": PASSWORD})


def measure(kind: str, port: int, database_url: str, work: Path, args) -> dict:
    import sqlalchemy as sa

    facts = prepare(database_url, args.members, work)
    proc = start(kind, port, database_url, work)
    try:
        clients = {mid: Session(email, PASSWORD).sign_in(port) for mid, email in facts["members"]}
        code, choices = facts["code"], ("go", "no_go", "abstain")
        # 1. The burst: every member sends `ballots` signed ballots at once.
        calls, tags = [], []
        for mid, c in clients.items():
            for n in range(args.ballots):
                tag = f"burst {mid}.{n}"
                tags.append((mid, tag))
                calls.append(lambda c=c, mid=mid, n=n, tag=tag: ballot(c, port, code, mid, choices[n % 3], tag))
        started = time.perf_counter()
        burst = fire(calls)
        burst_seconds = time.perf_counter() - started
        # 2. The close racing `racers` more ballots.
        chair_id = facts["members"][0][0]
        closer = Session(facts["members"][0][1], PASSWORD).sign_in(port)
        race_calls, race_tags = [], []
        members = list(clients.items())
        for n in range(args.racers):
            mid, c = members[n % len(members)]
            tag = f"race {mid}.{n}"
            race_tags.append((mid, tag))
            race_calls.append(lambda c=c, mid=mid, n=n, tag=tag: ballot(c, port, code, mid, choices[n % 3], tag))
        race_calls.append(lambda: closer.request(port, "POST", f"/releases/{code}/vote/close",
                                                 {"csrf_token": closer.token, "confirmed": "yes"}))
        race = fire(race_calls)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        stored = {row.comment: row for row in conn.execute(sa.text(
            "SELECT comment, member_id, is_current, cast_at FROM ballot WHERE vote_id = :v"), {"v": facts["vote_id"]})}
        closed_at = conn.scalar(sa.text("SELECT closed_at FROM vote WHERE id = :v"), {"v": facts["vote_id"]})
    engine.dispose()

    def untrue(results, tags):
        # "Done" (303) must mean stored; any other answer must mean not stored.
        return sum(1 for (status, _), (_, tag) in zip(results, tags) if (status == 303) != (tag in stored))

    current = collections.Counter(r.member_id for r in stored.values() if r.is_current)
    as_time = (lambda v: v) if not isinstance(closed_at, str) else (lambda v: __import__("datetime").datetime
                                                                    .fromisoformat(v))
    counted = [as_time(r.cast_at) for r in stored.values()]
    latest = max(counted)
    closed = as_time(closed_at) if closed_at else None
    late = sum(1 for t in counted if closed is not None and _naive(t) > _naive(closed))
    statuses = collections.Counter(s for s, _ in burst)
    race_statuses = collections.Counter(s for s, _ in race)
    return {
        "server": kind, "burst_requests": len(burst), "burst_seconds": round(burst_seconds, 1),
        "burst_statuses": dict(sorted(statuses.items())), "burst_5xx": sum(v for s, v in statuses.items() if s >= 500),
        "current_per_member": sorted(set(current.values())) + ([0] if len(current) < len(clients) else []),
        "members_with_a_ballot": len(current), "burst_untrue": untrue(burst, tags),
        "race_statuses": dict(sorted(race_statuses.items())),
        "race_5xx": sum(v for s, v in race_statuses.items() if s >= 500),
        "race_untrue": untrue(race[:-1], race_tags), "close_status": race[-1][0],
        "closed_minus_latest_ballot_ms": round((_naive(closed) - _naive(latest)).total_seconds() * 1000, 1)
        if closed else None,
        "ballots_after_close": late,
    }


def _naive(t):
    return t.replace(tzinfo=None) if t.tzinfo else t


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--ballots", type=int, default=10, help="simultaneous ballots per member")
    parser.add_argument("--racers", type=int, default=60, help="ballots racing the close")
    parser.add_argument("--only", choices=("gunicorn", "dev"))
    parser.add_argument("--work", default="/tmp/portal-burst")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    pg = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    results = []
    for n, kind in enumerate(k for k in ("gunicorn", "dev") if args.only in (None, k)):
        if pg:
            url = pg
        else:
            path = work / f"{kind}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        result = measure(kind, 8711 + n, url, work, args)
        result["database"] = "PostgreSQL" if pg else "SQLite"
        results.append(result)
        print(result, flush=True)
    print(f"\n{'server':<9} {'db':<10} {'burst':>6} {'s':>5} {'5xx':>4} {'untrue':>6} {'current/member':>14} "
          f"{'race 5xx':>8} {'untrue':>6} {'close':>5} {'closed - latest ms':>18} {'after close':>11}")
    for r in results:
        print(f"{r['server']:<9} {r['database']:<10} {r['burst_requests']:>6} {r['burst_seconds']:>5} "
              f"{r['burst_5xx']:>4} {r['burst_untrue']:>6} {str(r['current_per_member']):>14} {r['race_5xx']:>8} "
              f"{r['race_untrue']:>6} {r['close_status']:>5} {str(r['closed_minus_latest_ballot_ms']):>18} "
              f"{r['ballots_after_close']:>11}")
        print(f"  burst answers {r['burst_statuses']}, race answers (ballots and the close) {r['race_statuses']}")


if __name__ == "__main__":
    main()
