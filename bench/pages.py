"""Per-page cost at each scale: SQL queries, server time (median, in-process test client; with the time spent in the
database driver and in template rendering) and bytes of the main pages and their HTMX fragments, next to a bare Flask
page rendering a template of the same size (the framework's floor).

    .venv/bin/python bench/pages.py --scales 1 10 100 [--runs 20] [--workdir /tmp/portal-bench]

Each scale's data set is generated (bench/generate.py) into <workdir>/scale-<S>.db unless it is already there.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import logging
import pstats
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, before_render_template, render_template, template_rendered
from jinja2 import DictLoader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from config import Config, TestConfig  # noqa: E402
from generate import generate  # noqa: E402
from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.releases.demo import DEMO_PASSWORD  # noqa: E402
from portal.access import Role  # noqa: E402
from portal.auth.models import User  # noqa: E402
from portal.releases.models import Criterion, Release, Stage  # noqa: E402

LOGINS = {"secas": "secas.admin@example.org", "dcc": "dcc.lead@example.org", "opsg": "opsg.chair@example.org",
          "panel": "panel.member1@example.org"}


@dataclass
class Page:
    name: str
    who: str
    url: str
    htmx: bool = False
    full: str | None = None  # for a fragment: the page it is part of


def pages_for(app) -> list[Page]:
    """The main pages and their fragments, on the newest decided release and the newest open vote."""
    with app.app_context():
        def newest(stage):
            return db.session.scalar(sa.select(Release.code).where(Release.stage == stage)
                                     .order_by(Release.planned_go_live.desc(), Release.id.desc()).limit(1))
        live, voting = newest(Stage.LIVE), newest(Stage.PANEL_VOTE)
    rel, crit = f"/releases/{live}", f"/releases/{live}/criteria/1"
    return [
        Page("release list", "secas", "/"),
        Page("calendar", "secas", "/calendar"),
        Page("calendar month", "secas", "/calendar/month"),  # this month: the releases in progress
        Page("modification register", "secas", "/modifications"),
        Page("release page", "secas", rel),
        Page("  readiness grid", "secas", f"{rel}/criteria/grid", True, "release page"),
        Page("criterion page", "dcc", crit),
        Page("  evidence list", "dcc", f"{crit}/evidence", True, "criterion page"),
        Page("  assessments", "dcc", f"{crit}/assessments", True, "criterion page"),
        Page("  requests", "dcc", f"{crit}/requests", True, "criterion page"),
        Page("my tasks", "dcc", "/tasks"),
        Page("  task count", "dcc", "/tasks/count", True, "my tasks"),  # in every page's header, by htmx
        Page("release audit", "secas", f"{rel}/audit"),
        Page("  audit events", "secas", f"{rel}/audit", True, "release audit"),
        Page("  chain status", "secas", f"{rel}/audit/chain", True, "release audit"),
        Page("vote page", "panel", f"/releases/{voting}/vote"),
        Page("  vote tally", "panel", f"/releases/{voting}/vote/tally", True, "vote page"),
    ]


def load_targets(database_url: str) -> dict:
    """What bench/loadgen.py needs: 16 users (8 readers, 4 DCC uploaders, 4 Panel voters) and the pages."""
    app = create_app(bench_config(database_url, "/nonexistent"))
    pages = [p for p in pages_for(app) if not p.htmx]
    with app.app_context():
        ids = dict(db.session.execute(sa.select(User.email, User.id)).all())
        upload = db.session.execute(
            sa.select(Release.code, Criterion.number).join(Criterion.release)
            .where(Release.stage == Stage.EVIDENCE, Criterion.owner_role == Role.DCC)).all()
    readers = ["secas.admin", "secas.admin", "secas.admin", "opsg.chair", "opsg.chair", "opsg.member",
               "panel.chair", "panel.member5"]
    users = ([{"role": "read", "email": f"{r}@example.org"} for r in readers]
             + [{"role": "dcc", "email": f"dcc.{r}@example.org"} for r in ("lead", "lead", "ops", "ops")]
             + [{"role": "vote", "email": f"panel.member{i}@example.org",
                 "member_id": ids[f"panel.member{i}@example.org"]} for i in range(1, 5)])
    return {"users": users, "reads": [(p.name, p.url) for p in pages], "upload": [list(u) for u in upload],
            "vote": pages[-1].url.split("/")[2]}


def bench_config(database_url: str, upload_folder: str):
    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        UPLOAD_FOLDER = upload_folder
        WTF_CSRF_ENABLED = False  # sign-in by plain POST; the pages themselves are unchanged
        # As in production (config.Config): pages re-walk the whole audit chain every 5 minutes, and in between
        # verify it from their last checkpoint (TestConfig walks it all every time).
        AUDIT_CHAIN_RECHECK_SECONDS = Config.AUDIT_CHAIN_RECHECK_SECONDS
    return BenchConfig


def signed_in_clients(app) -> dict:
    clients = {}
    for who, email in LOGINS.items():
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, (who, response.status_code)
        clients[who] = client
    return clients


class QueryCounter:
    """Counts the SQL statements and the time spent in the database driver."""

    def __init__(self, engine):
        self.count, self.statements, self.sql_ms, self._started = 0, [], 0.0, 0.0
        sa.event.listen(engine, "before_cursor_execute", self._count)
        sa.event.listen(engine, "after_cursor_execute", self._done)

    def reset(self):
        self.count, self.statements, self.sql_ms = 0, [], 0.0

    def _count(self, conn, cursor, statement, *args):
        self.count += 1
        self.statements.append(statement)
        self._started = time.perf_counter()

    def _done(self, *args):
        self.sql_ms += (time.perf_counter() - self._started) * 1000


class RenderTimer:
    """Time spent rendering templates (the outermost render_template of a request; widgets render nested ones)."""

    def __init__(self, app):
        self.ms, self._depth, self._started = 0.0, 0, 0.0
        before_render_template.connect(self._before, app)
        template_rendered.connect(self._after, app)

    def _before(self, sender, **extra):
        if self._depth == 0:
            self._started = time.perf_counter()
        self._depth += 1

    def _after(self, sender, **extra):
        self._depth -= 1
        if self._depth == 0:
            self.ms += (time.perf_counter() - self._started) * 1000


def profiled(client, url: str, headers: dict, requests: int = 5) -> pstats.Stats:
    """cProfile's record of `requests` requests of one page."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        client.get(url, headers=headers)
    profile.disable()
    return pstats.Stats(profile)


def python_calls(client, url: str, headers: dict, requests: int = 5) -> int:
    """Python function calls per request (cProfile's count): the page's own work, deterministic, and unaffected by
    whatever else the machine is doing, so that two versions compare on a busy machine too."""
    return profiled(client, url, headers, requests).total_calls // requests


def page_costs(database_url: str, upload_folder: str, runs: int = 1, calls: bool = False,
               profile: str | None = None) -> dict[str, dict]:
    """For each page: queries (of one request), median milliseconds over `runs`, bytes, status (and with `calls`,
    Python function calls per request). With `profile`, that page's profile is printed: where its time goes."""
    app = create_app(bench_config(database_url, upload_folder))
    pages = pages_for(app)
    clients = signed_in_clients(app)
    with app.app_context():
        counter = QueryCounter(db.engine)
    renders = RenderTimer(app)
    costs = {}
    for page in pages:
        client = clients[page.who]
        headers = {"HX-Request": "true"} if page.htmx else {}
        client.get(page.url, headers=headers)  # warm the template cache
        times, sql, render = [], [], []
        for _ in range(runs):
            counter.reset()
            renders.ms = 0.0
            started = time.perf_counter()
            response = client.get(page.url, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            sql.append(counter.sql_ms)
            render.append(renders.ms)
        costs[page.name] = {"queries": counter.count, "ms": statistics.median(times), "bytes": len(response.data),
                            "sql_ms": statistics.median(sql), "render_ms": statistics.median(render),
                            "status": response.status_code, "full": page.full, "url": page.url,
                            "statements": counter.statements,
                            "calls": python_calls(client, page.url, headers) if calls else None}
        if page.name.strip() == profile:
            stats = profiled(client, page.url, headers, requests=20)
            print(f"--- {page.name.strip()}: {stats.total_calls // 20} calls a request; 20 requests, by own time,"
                  " then by cumulative time")
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)
    return costs


# --- The framework's floor: a bare Flask page of the same size ------------------------------------------

ROW = "<p>" + "x" * 90 + "</p>\n"
BARE = Flask("bare")
BARE.jinja_loader = DictLoader({"page.html": "<!DOCTYPE html><html><body>{% for row in rows %}{{ row }}{% endfor %}"
                                             "</body></html>"})


@BARE.get("/<int:size>")
def bare_page(size: int):
    return render_template("page.html", rows=[ROW] * max(1, size // len(ROW)))


def bare_ms(size: int, runs: int) -> float:
    client = BARE.test_client()
    client.get(f"/{size}")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(f"/{size}")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--workdir", default="/tmp/portal-bench")
    parser.add_argument("--database-url", help="measure this database (e.g. PostgreSQL) instead of --scales")
    parser.add_argument("--upload-folder", default="/tmp/portal-load/evidence")
    parser.add_argument("--load-targets", metavar="DATABASE_URL", help="print bench/loadgen.py's targets as JSON")
    parser.add_argument("--calls", action="store_true", help="add Python function calls per request (cProfile)")
    parser.add_argument("--show-sql", metavar="PAGE", help="print the SQL one request of this page issues")
    parser.add_argument("--profile", metavar="PAGE", help="print where this page's time goes (cProfile)")
    args = parser.parse_args()
    logging.getLogger("portal.request").setLevel(logging.WARNING)  # one log line per request would be timed too
    if args.load_targets:
        print(json.dumps(load_targets(args.load_targets)))
        return
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(f"{'scale':>5} {'page':<18} {'status':>6} {'queries':>7} {'ms':>8} {'sql ms':>7} {'render':>7} "
          f"{'bare ms':>8} {'x bare':>7} {'bytes':>8} {'% of page':>9}" + (f" {'calls':>7}" if args.calls else ""))
    for scale in [0] if args.database_url else args.scales:
        db_file, folder = work / f"scale-{scale}.db", work / f"evidence-{scale}"
        url = args.database_url or f"sqlite:///{db_file}"
        if not args.database_url and not db_file.exists():
            generate(scale, url, str(folder), args.years, quiet=True)
        costs = page_costs(url, args.upload_folder if args.database_url else str(folder), args.runs, args.calls,
                           args.profile)
        for name, c in costs.items():
            if name.strip() == args.show_sql:
                print("\n".join(" ".join(q.split())[:200] for q in c["statements"]))
            floor = bare_ms(c["bytes"], args.runs)
            share = f"{100 * c['bytes'] / costs[c['full']]['bytes']:.1f}%" if c["full"] else ""
            print(f"{scale:>5} {name:<18} {c['status']:>6} {c['queries']:>7} {c['ms']:>8.1f} {c['sql_ms']:>7.1f} "
                  f"{c['render_ms']:>7.1f} {floor:>8.2f} {c['ms'] / floor:>7.1f} {c['bytes']:>8} {share:>9}"
                  + (f" {c['calls']:>7}" if args.calls else ""),
                  flush=True)


if __name__ == "__main__":
    main()
