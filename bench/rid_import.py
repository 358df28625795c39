"""Publishing and importing a RID: the time to render the demo release's RID v0.1 as PDF and DOCX, and to read each
back (portal/rid_import), plus the February 2021 RID as text; median of --runs, in-process, on SQLite.

    .venv/bin/python bench/rid_import.py [--runs 5]
"""
from __future__ import annotations

import argparse
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
from portal.document.render import render_docx, render_pdf, version_document  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.releases import demo  # noqa: E402
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
                                                      "AUDIT_WITNESS_PATH": f"{work}/witness.jsonl"})
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


if __name__ == "__main__":
    main()
