"""`flask audit verify` at a million events: its time and its peak memory, which must stay flat as the chain grows.

    .venv/bin/python bench/audit_verify.py [--events 100000 1000000] [--database-url URL] [--workdir /tmp/portal-audit]

Writes a chain of keyed events (each linked exactly as record_event links it: canonical content, HMAC under
TestConfig's key), growing it to each size in turn, and after each size runs `flask audit verify` in a fresh
process, which prints its time, its events a second and the peak resident memory of the command and of the
walkers it starts (one per core; below 100,000 events a walker, one walk). With a PostgreSQL
URL the database must be empty.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import TestConfig  # noqa: E402
from portal import create_app  # noqa: E402
from portal.audit.keys import audit_keys  # noqa: E402
from portal.audit.models import GENESIS_HASH, AuditEvent, canonical_content  # noqa: E402
from portal.audit.services import link_hash  # noqa: E402
from portal.extensions import db  # noqa: E402

BATCH = 10_000
ACTIONS = ("evidence.uploaded", "assessment.recorded", "ballot.cast", "request.answered", "rid.edited")
# Run in a fresh process so that its peak memory is the verify's own.
CHILD = """
import sys, time, resource
sys.path.insert(0, {root!r})
from bench.audit_verify import app_for
app = app_for({url!r})
started = time.perf_counter()
result = app.test_cli_runner().invoke(args=["audit", "verify", *{extra!r}])
seconds = time.perf_counter() - started
print(result.output.strip().splitlines()[-1] if result.output.strip() else "(no output)")
peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(f"{{seconds:.2f}} {{peak}} {{result.exit_code}}")
"""


def app_for(url: str):
    config = type("AuditBenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url, "AUDIT_WITNESS_PATH": ""})
    return create_app(config)


def grow(url: str, target: int) -> tuple[int, float]:
    """Add events until the chain holds `target`; returns (events added, seconds)."""
    app = app_for(url)
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        head = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        last_id, prev_hash = (head.id, head.hash) if head else (0, GENESIS_HASH)
        keys = audit_keys()
        key = keys.hmac_keys[keys.key_id]
        start = dt.datetime(2021, 1, 4, 9, 0, tzinfo=dt.timezone.utc)
        added = 0
        while last_id < target:
            rows = []
            for i in range(last_id + 1, min(target, last_id + BATCH) + 1):
                values = {"occurred_at": start + dt.timedelta(seconds=i), "actor_id": None,
                          "actor_name": f"Bench person {i % 40}", "actor_role": "opsg", "on_behalf_of_id": None,
                          "action": ACTIONS[i % len(ACTIONS)], "object_type": "criterion", "object_id": i % 20,
                          "release_id": None, "summary": f"Bench event {i}: criterion {i % 20} assessed as Met",
                          "details": {"criterion": i % 20, "status": "met", "round": 1}, "key_id": keys.key_id}
                content = canonical_content(SimpleNamespace(id=i, **values))
                values.update(id=i, prev_hash=prev_hash, hash=link_hash(prev_hash, content, key))
                prev_hash = values["hash"]
                rows.append(values)
            db.session.execute(sa.insert(AuditEvent), rows)
            db.session.commit()
            added += len(rows)
            last_id = rows[-1]["id"]
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), :n)"),
                               {"n": last_id})
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE audit_event"))
    return added, time.perf_counter() - started


def verify(url: str, extra: list[str]) -> dict:
    child = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), url=url, extra=extra)], capture_output=True,
                           text=True, cwd=ROOT)
    if child.returncode != 0:
        raise SystemExit(child.stderr[-2000:])
    said, figures = child.stdout.strip().splitlines()[-2:]
    seconds, rss_kb, exit_code = figures.split()
    return {"seconds": float(seconds), "peak_rss_mb": round(int(rss_kb) / 1024, 1), "exit_code": int(exit_code),
            "said": said}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--database-url", help="default: a new SQLite file in --workdir")
    parser.add_argument("--workdir", default="/tmp/portal-audit")
    parser.add_argument("--keep", action="store_true", help="reuse the chain already in --workdir (grow it only)")
    parser.add_argument("--workers", type=int, help="passed to flask audit verify (default: its own, one per core)")
    args = parser.parse_args()
    url = args.database_url
    if url is None:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        path = Path(args.workdir) / "audit.db"
        if not args.keep:
            path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    print(f"{'events':>10} {'written s':>10} {'verify s':>9} {'events/s':>10} {'peak MB':>8}  flask audit verify said")
    for target in sorted(args.events):
        _, wrote = grow(url, target)
        result = verify(url, ["--workers", str(args.workers)] if args.workers else [])
        if result["exit_code"] != 0:
            raise SystemExit(f"verify failed at {target} events: {result['said']}")
        print(f"{target:>10,} {wrote:>10.1f} {result['seconds']:>9.2f} {target / result['seconds']:>10,.0f} "
              f"{result['peak_rss_mb']:>8.1f}  {result['said'][:90]}")
    print(json.dumps({"database": url.split("@")[-1], "batch": BATCH}))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
