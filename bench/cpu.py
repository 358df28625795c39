"""CPU used by each kind of process during a window, from /proc (Linux): run by bench/load.sh during the portal run.

    .venv/bin/python bench/cpu.py WAIT SECONDS      # prints cores used by gunicorn, the load client, PostgreSQL
"""
from __future__ import annotations

import collections
import os
import sys
import time


def snapshot() -> collections.Counter:
    """Clock ticks of user + system time so far, by kind of process."""
    ticks: collections.Counter = collections.Counter()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
            cmdline = open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
        except OSError:  # the process ended meanwhile
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        kind = ("gunicorn" if "gunicorn" in cmdline else "load client" if "loadgen" in cmdline
                else "postgres" if name.startswith("postgres") else "other")
        ticks[kind] += int(fields[11]) + int(fields[12])
    return ticks


def main() -> None:
    wait, seconds = float(sys.argv[1]), float(sys.argv[2])
    time.sleep(wait)
    before, started = snapshot(), time.monotonic()
    time.sleep(seconds)
    after, elapsed = snapshot(), time.monotonic() - started
    per_second = os.sysconf("SC_CLK_TCK") * elapsed
    print("CPU during the portal run (cores): " + ", ".join(
        f"{kind} {(after[kind] - before[kind]) / per_second:.2f}" for kind in sorted(after)))


if __name__ == "__main__":
    main()
