"""A small closed-loop load generator for bench/load.sh: N signed-in users on loopback, for a bounded time and count.

    .venv/bin/python bench/loadgen.py --port 8701 --users 16 --seconds 30 [--bare /20000]

Portal mode: users sign in first (not timed), then loop over the main pages; DCC users also upload small text files
to their criteria of releases in evidence gathering, Panel members also (re)cast signed ballots in the open vote.
Bare mode (--bare PATH): every user only GETs PATH. Prints throughput, p50/p95/p99 and errors, as JSON.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import statistics
import sys
import threading
import time
import urllib.parse

HOST = "127.0.0.1"  # loopback only, by construction
PASSWORD = "demo-password-2021"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
BOUNDARY = "----portalload"
TASK_COUNT = "task count (htmx)"


class User:
    def __init__(self, port: int, email: str | None):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.email, self.cookie, self.token = email, "", ""

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        if self.token and method == "POST":
            headers["X-CSRFToken"] = self.token
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnect on the next request
            raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, data

    def sign_in(self):
        status, page = self.request("GET", "/login")
        token = TOKEN_RE.search(page.decode()).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "email": self.email, "password": PASSWORD}).encode()
        status, _ = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, f"sign-in of {self.email} answered {status}"
        status, page = self.request("GET", "/tasks")
        self.token = TOKEN_RE.search(page.decode()).group(1)


def multipart(fields: dict, file_name: str, content: bytes) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
                 f"Content-Type: text/plain\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def plan(targets: dict, persona: str, rnd: random.Random):
    """The next (kind, method, path, body, headers) for this persona."""
    if persona["role"] == "dcc" and rnd.random() < 0.3:
        code, number = rnd.choice(targets["upload"])
        body = multipart({"description": "Load test evidence"}, f"load-{rnd.getrandbits(48):x}.txt",
                         (f"Load test evidence {rnd.getrandbits(64)}\n" * rnd.randint(50, 500)).encode())
        return ("upload", "POST", f"/releases/{code}/criteria/{number}/evidence", body,
                {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    if persona["role"] == "vote" and rnd.random() < 0.15:
        form = {"member_id": persona["member_id"], "choice": rnd.choice(("go", "no_go", "abstain")),
                "comment": "", "password": PASSWORD}
        return ("vote", "POST", f"/releases/{targets['vote']}/vote/ballot", urllib.parse.urlencode(form).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"})
    kind, path = rnd.choice([r for r in targets["reads"] if r[0] not in targets.get("skip", ())])
    return (kind, "GET", path, None, {})


def run(args) -> dict:
    targets = json.loads(args.targets) if args.targets else {}
    targets["skip"] = args.skip
    personas = [{"role": "bare", "email": None}] * args.users if args.bare else targets["users"][: args.users]
    users = [(persona, User(args.port, persona["email"])) for persona in personas]
    for persona, user in users:
        if user.email:
            user.sign_in()
    samples: list[tuple[str, float, int]] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds
    budget = iter(range(args.max_requests))

    def loop(index: int, persona: str, user: User):
        rnd = random.Random(index + 1000 * args.seed)
        while time.monotonic() < deadline and next(budget, None) is not None:
            kind, method, path, body, headers = ("bare", "GET", args.bare, None, {}) if args.bare \
                else plan(targets, persona, rnd)
            started = time.perf_counter()
            try:
                status, _ = user.request(method, path, body, headers)
            except (OSError, http.client.HTTPException) as err:
                status = type(err).__name__
            elapsed = (time.perf_counter() - started) * 1000
            record(kind, elapsed, status)
            if method == "GET" and not args.bare:
                # As a browser does: htmx then loads the header's task count (every full page asks for it).
                started = time.perf_counter()
                try:
                    status, _ = user.request("GET", "/tasks/count", None, {"HX-Request": "true"})
                except (OSError, http.client.HTTPException) as err:
                    status = type(err).__name__
                record(TASK_COUNT, (time.perf_counter() - started) * 1000, status)

    def record(kind: str, elapsed: float, status) -> None:
        with lock:
            samples.append((kind, elapsed, status))
            if not (isinstance(status, int) and status < 400):
                errors[f"{kind} {status}"] = errors.get(f"{kind} {status}", 0) + 1

    threads = [threading.Thread(target=loop, args=(i, p, u)) for i, (p, u) in enumerate(users)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started

    def summary(times: list[float]) -> dict:
        if not times:
            return {"n": 0}
        q = statistics.quantiles(times, n=100) if len(times) > 1 else [times[0]] * 99
        return {"n": len(times), "p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1)}

    kinds = sorted({k for k, _, _ in samples})
    return {"mode": "bare" if args.bare else "portal", "users": args.users, "seconds": round(wall, 1),
            "requests": len(samples), "throughput_rps": round(len(samples) / wall, 1), "errors": errors,
            "page_views_per_s": round(sum(1 for k, _, _ in samples if k not in ("upload", "vote", TASK_COUNT))
                                      / wall, 1),
            "all": summary([t for _, t, _ in samples]),
            "reads": summary([t for k, t, _ in samples if k not in ("upload", "vote", TASK_COUNT)]),
            "by_kind": {k: summary([t for kk, t, _ in samples if kk == k]) for k in kinds}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many in all")
    parser.add_argument("--bare", help="only GET this path (the bare Flask page)")
    parser.add_argument("--seed", type=int, default=0,
                        help="another seed for another run on the same data (the same seed repeats its uploads: 409)")
    parser.add_argument("--skip", action="append", default=[], help="leave this page out of the reads")
    parser.add_argument("--targets", default=os.environ.get("LOAD_TARGETS", ""),
                        help="JSON from bench/load_targets.py (portal mode)")
    args = parser.parse_args()
    if args.seconds > 600 or args.users > 64:
        sys.exit("Keep the load bounded: at most 600 s and 64 users.")
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
