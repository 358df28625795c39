"""Best time per page over many requests: the figure that repeats on a busy machine (medians there move with
whatever else runs). Compares two checkouts when run in each, alternately.

    .venv/bin/python bench/best_of.py sqlite:////tmp/bench-after/scale-10.db [--pages "release list,task count"]

The data set is one that `bench/pages.py --scales 10 --workdir /tmp/bench-after` generated.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pages  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--pages", help="comma-separated page names (default: all of bench/pages.py's)")
    parser.add_argument("--warm", type=int, default=20)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    logging.getLogger("portal.request").setLevel(logging.WARNING)
    app = pages.create_app(pages.bench_config(args.database_url, "/nonexistent"))
    found = {p.name.strip(): p for p in pages.pages_for(app)}
    clients = pages.signed_in_clients(app)
    for name in args.pages.split(",") if args.pages else found:
        page = found[name.strip()]
        client, headers = clients[page.who], {"HX-Request": "true"} if page.htmx else {}
        for _ in range(args.warm):
            client.get(page.url, headers=headers)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            client.get(page.url, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{page.name.strip():<16} best {min(times):6.2f} ms  median {statistics.median(times):6.2f} ms",
              flush=True)


if __name__ == "__main__":
    main()
