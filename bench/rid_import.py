"""Publishing and importing a RID: the time to render the demo release's RID v0.1 as PDF and DOCX, and to read each
back (portal/rid_import), plus the February 2021 RID as text, and to compare two versions (v0.1 with a v0.2 that
changed a criterion's wording and moved a date: the comparison itself, and the signed-in page); median of --runs,
in-process, on SQLite.

    .venv/bin/python bench/rid_import.py [--runs 5]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import TestConfig  # noqa: E402
from portal import create_app  # noqa: E402
from portal.document.compare import compare_snapshots  # noqa: E402
from portal.document.render import render_docx, render_pdf, version_document  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.releases import demo  # noqa: E402
from portal.releases.services import add_rid_version  # noqa: E402
from portal.rid_import.reader import read_rid  # noqa: E402

FEB_2021 = Path("/work/shared/domain/rid-february-2021-sec-release.txt")


def _median(fn, runs: int) -> tuple[str, object]:
    """The median wall time and the median CPU time of this process (the machine may be shared: the CPU time is
    what the step costs, the wall time what a user waits on a busy machine)."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return f"{statistics.median(walls):7.3f} {statistics.median(cpus):7.3f}", result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as work:
        config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{work}/bench.db",
                                                      "UPLOAD_FOLDER": f"{work}/evidence",
                                                      "AUDIT_WITNESS_PATH": f"{work}/witness.jsonl",
                                                      "WTF_CSRF_ENABLED": False})
        app = create_app(config)
        with app.app_context():
            db.create_all()
            release, _ = demo.load_demo_release()
            db.session.commit()
            doc = version_document(release, release.rid_versions[0])
            render_pdf(doc)  # the first render loads fonts and compiles the template
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            print(f"{'step':34} {'wall s':>7} {'CPU s':>7} {'bytes':>9}")
            for kind, render in (("pdf", render_pdf), ("docx", render_docx)):
                seconds, data = _median(lambda: render(doc), runs)
                print(f"{'publish v0.1 as ' + kind:34} {seconds} {len(data):9,}")
                seconds, reading = _median(lambda: read_rid(f"rid.{kind}", data), runs)
                print(f"{'import v0.1 from ' + kind:34} {seconds} {'':>9} warnings: {len(reading.warnings)}")
            if FEB_2021.exists():
                data = FEB_2021.read_bytes()
                seconds, reading = _median(lambda: read_rid(FEB_2021.name, data), runs)
                print(f"{'import February 2021 text':34} {seconds} {len(data):9,} warnings: {len(reading.warnings)}")
            # v0.2: criterion 3 reworded, the first milestone a week later (as SECAS would, then a new version).
            users = dict((u.email, u) for u, _ in demo.load_demo_users())
            secas = users["secas.admin@example.org"]
            release.criteria[2].text += " (reworded)"
            release.milestones[0].due_on += dt.timedelta(days=7)
            add_rid_version(secas, release, "Criterion 3 reworded; the first milestone moved")
            db.session.commit()
            old, new = release.rid_versions[0], release.rid_versions[-1]
            seconds, sections = _median(lambda: compare_snapshots(old.snapshot, new.snapshot), runs)
            changed = sum(1 for s in sections if s.changed)
            print(f"{'compare v0.1 with v0.2':34} {seconds} {'':>9} sections changed: {changed}")
            client = app.test_client()
            assert client.post("/login", data={"email": secas.email, "password": demo.DEMO_PASSWORD}).status_code == 302
            url = f"/releases/{release.code}/rid/compare?from={old.number}&to={new.number}"
            assert client.get(url).status_code == 200
            seconds, response = _median(lambda: client.get(url), runs)
            print(f"{'compare page (signed in, HTTP)':34} {seconds} {len(response.data):9,}")


if __name__ == "__main__":
    main()
