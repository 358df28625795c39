"""Two portal hosts behind HAProxy on loopback: the cluster, and the checks bench/hosts.sh and tests/test_two_hosts.py
run against it.

    .venv/bin/python bench/hosts.py --database-url URL --work DIR [--seconds 20] [--users 16] [--workers 2]

The database must hold bench/generate.py's data set (bench/hosts.sh makes it). Both hosts share the database, one
evidence folder, one audit witness file and the same SECRET_KEY, audit keys and PORTAL_BASE_URL (the HAProxy
address); HAProxy runs deploy/haproxy.cfg, with only its tagged lines changed for loopback (see that file).

Prints, as a table and as JSON: throughput, p95 and errors for one host (direct) and for two behind HAProxy
(bench/loadgen.py), then the checks: signed in across hosts, the login throttle across hosts, one current ballot
per member after a burst over both hosts, the audit chain verified, and one host killed (SIGKILL) under load.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from session import HOST, TOKEN_RE, Session, fire, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-password-2021"  # bench/generate.py's users
# bench/generate.py links its events under TestConfig's fixed keys: the hosts must verify them, so they use those
# (bench only; production keys come from AUDIT_KEY_FILE / AUDIT_SIGNING_KEY_FILE, see deploy/portal.env.example).
AUDIT_KEY = "test-only-audit-key-not-secret-000"
AUDIT_SIGNING_KEY = hashlib.sha256(b"test-only-signing-key").hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def haproxy_config(lb_port: int, hosts: list[int], socket_path: str, source: Path = ROOT / "deploy/haproxy.cfg") -> str:
    """deploy/haproxy.cfg with its tagged lines made loopback ones; every other line exactly as in the file."""
    out, bound, served = [], False, False
    for line in source.read_text().splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        if line.rstrip().endswith("# @prod"):
            continue
        if line.rstrip().endswith("# @bind"):
            if not bound:
                out.append(f"{indent}bind {HOST}:{lb_port}")
                bound = True
            continue
        if line.rstrip().endswith("# @server"):
            if not served:
                out += [f"{indent}server app{n} {HOST}:{port} check" for n, port in enumerate(hosts, start=1)]
                served = True
            continue
        if line.rstrip().endswith("# @socket"):
            out.append(f"{indent}stats socket {socket_path} mode 600 level admin")
            continue
        out.append(line)
    assert bound and served, "deploy/haproxy.cfg lost its '# @bind' or '# @server' lines"
    return "\n".join(out) + "\n"


class Cluster:
    """Two (or more) gunicorn hosts and HAProxy, on free loopback ports; stop() kills everything it started."""

    def __init__(self, database_url: str, work: Path, hosts: int = 2, workers: int = 2,
                 python: str = sys.executable, env: dict | None = None):
        self.url, self.work, self.workers, self.python = database_url, Path(work), workers, python
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "evidence").mkdir(exist_ok=True)
        self.lb_port = free_port()
        self.ports = [free_port() for _ in range(hosts)]
        self.socket = str(self.work / "haproxy.sock")
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {**os.environ, "PORTAL_CONFIG": "production", "DATABASE_URL": database_url,
                    "SECRET_KEY": "two-hosts-bench-only-shared-secret", "AUDIT_KEY": AUDIT_KEY, "AUDIT_KEY_ID": "1",
                    "AUDIT_SIGNING_KEY": AUDIT_SIGNING_KEY,
                    # One witness for every host and the CLI: the same file (on one machine; see README).
                    "AUDIT_WITNESS_PATH": str(self.work / "audit-witness.jsonl"),
                    "UPLOAD_FOLDER": str(self.work / "evidence"), "EVIDENCE_STORAGE": "local",
                    "PORTAL_BASE_URL": f"http://{HOST}:{self.lb_port}", "FORWARDED_ALLOW_IPS": HOST, "PROXY_HOPS": "1",
                    "WEB_CONCURRENCY": str(workers), "GUNICORN_MAX_REQUESTS": "0", "LOG_LEVEL": "warning",
                    "DB_POOL_SIZE": "5", "DB_MAX_OVERFLOW": "10",
                    # A worker that crashes in C (a segfault) leaves its Python stack in its host's log.
                    "PYTHONFAULTHANDLER": "1"}
        self.env.update(env or {})
        for name in ("AUDIT_KEY_FILE", "AUDIT_SIGNING_KEY_FILE", "AUDIT_KEYS", "AUDIT_KEYS_FILE", "PORTAL_TODAY"):
            self.env.pop(name, None)

    def start(self) -> "Cluster":
        try:
            for n, port in enumerate(self.ports, start=1):
                self.start_host(n)
            (self.work / "haproxy.cfg").write_text(haproxy_config(self.lb_port, self.ports, self.socket))
            log = open(self.work / "haproxy.log", "w")
            self.procs["haproxy"] = subprocess.Popen(["haproxy", "-db", "-f", str(self.work / "haproxy.cfg")],
                                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            wait_for_port(self.lb_port, self.procs["haproxy"])
            self.wait_state({f"app{n}": "UP" for n in range(1, len(self.ports) + 1)}, 30)
        except BaseException:
            self.stop()
            raise
        return self

    def start_host(self, n: int) -> None:
        log = open(self.work / f"app{n}.log", "w")
        # Its own process group, so that kill_host() takes the master and its workers at once, as a host dies.
        proc = subprocess.Popen([self.python, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
                                cwd=ROOT, env={**self.env, "BIND": f"{HOST}:{self.ports[n - 1]}"},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[f"app{n}"] = proc
        wait_for_port(self.ports[n - 1], proc)

    def kill_host(self, n: int) -> None:
        proc = self.procs[f"app{n}"]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def admin(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.socket)
            s.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def states(self) -> dict[str, str]:
        """Each server's status as HAProxy sees it ("UP", "DOWN", "UP 1/2"...)."""
        lines = self.admin("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
        return {r["svname"]: r["status"] for r in rows if r["pxname"] == "portal" and r["svname"].startswith("app")}

    def wait_state(self, wanted: dict[str, str], seconds: float) -> float:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            states = self.states()
            if all(states.get(k) == v for k, v in wanted.items()):
                return time.monotonic()
            time.sleep(0.05)
        raise RuntimeError(f"HAProxy states {self.states()}, wanted {wanted}")

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.python, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)


def open_vote(database_url: str) -> dict:
    """The open vote of the data set: its release code, id, and its members' (id, email)."""
    import sqlalchemy as sa
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        vote_id, code = conn.execute(sa.text(
            "SELECT vote.id, release.code FROM vote JOIN release ON release.id = vote.release_id "
            "WHERE vote.closed_at IS NULL ORDER BY vote.id DESC LIMIT 1")).one()
        members = [tuple(r) for r in conn.execute(sa.text(
            'SELECT "user".id, "user".email FROM vote_member JOIN "user" ON "user".id = vote_member.member_id '
            "WHERE vote_member.vote_id = :v AND vote_member.alternate_id IS NULL ORDER BY \"user\".id"),
            {"v": vote_id})]
    engine.dispose()
    return {"vote_id": vote_id, "code": code, "members": members}


def stored_ballots(database_url: str, vote_id: int, prefix: str) -> dict[str, tuple]:
    import sqlalchemy as sa
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = {r.comment: (r.member_id, r.is_current) for r in conn.execute(sa.text(
            "SELECT comment, member_id, is_current FROM ballot WHERE vote_id = :v AND comment LIKE :p"),
            {"v": vote_id, "p": prefix + "%"})}
        current = collections.Counter(r.member_id for r in conn.execute(sa.text(
            "SELECT member_id FROM ballot WHERE vote_id = :v AND is_current"), {"v": vote_id}))
    engine.dispose()
    return rows, current


def ballot(client: Session, port: int, code: str, member_id: int, choice: str, tag: str):
    return client.request(port, "POST", f"/releases/{code}/vote/ballot",
                          {"csrf_token": client.token, "member_id": str(member_id), "choice": choice,
                           "comment": tag, "password": PASSWORD})


# ---- the checks: each returns a dict with "ok" and what it saw ----

def check_session(cluster: Cluster, email: str) -> dict:
    """Signed in on host 1: host 2 and HAProxy know the session too (one SECRET_KEY, sessions in the database)."""
    client = Session(email, PASSWORD)
    assert client.login(cluster.ports[0]) == 302
    seen = {}
    for name, port in [*((f"app{n}", p) for n, p in enumerate(cluster.ports, start=1)), ("haproxy", cluster.lb_port)]:
        status, page = client.request(port, "GET", "/tasks")
        seen[name] = status
    # Signed out on host 2: host 1 no longer takes the session either.
    _, page = client.request(cluster.ports[1], "GET", "/tasks")
    status, _ = client.request(cluster.ports[1], "POST", "/logout", {"csrf_token": TOKEN_RE.search(page).group(1)})
    after, _ = client.request(cluster.ports[0], "GET", "/tasks")
    ok = all(s == 200 for s in seen.values()) and after in (302, 303)
    return {"ok": ok, "tasks_page_status": seen, "signed_out_on_app2_then_app1": after}


def check_proxy_headers(cluster: Cluster) -> dict:
    """The hosts trust X-Forwarded-Proto from the proxy's address (FORWARDED_ALLOW_IPS), and the proxy never passes on
    a client's own: a client claiming HTTPS through HAProxy (plain HTTP here) gets no HSTS; HAProxy's own
    "X-Forwarded-Proto: https" (as it sets after TLS) is believed."""
    def hsts(port, headers):
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            conn.request("GET", "/login", headers=headers)
            response = conn.getresponse()
            response.read()
            return response.getheader("Strict-Transport-Security") is not None
        finally:
            conn.close()
    forged = hsts(cluster.lb_port, {"X-Forwarded-Proto": "https"})
    from_proxy = hsts(cluster.ports[0], {"X-Forwarded-Proto": "https"})  # from 127.0.0.1, the proxy's address
    plain = hsts(cluster.lb_port, {})
    return {"ok": from_proxy and not forged and not plain, "hsts_when_the_proxy_says_https": from_proxy,
            "hsts_when_a_client_says_https_through_haproxy": forged, "hsts_over_plain_http": plain}


def check_throttle(cluster: Cluster, email: str, max_failures: int = 5) -> dict:
    """Wrong passwords alternately on each host: the throttle counts them together."""
    statuses = []
    for n in range(max_failures):
        statuses.append(Session(email, PASSWORD).login(cluster.ports[n % 2], password="wrong-password"))
    after = {f"app{n}": Session(email, PASSWORD).login(port) for n, port in enumerate(cluster.ports, start=1)}
    ok = all(s == 401 for s in statuses) and all(s == 429 for s in after.values())
    return {"ok": ok, "wrong_password": statuses, "right_password_after": after}


def check_burst(cluster: Cluster, per_member: int = 4) -> dict:
    """Every member of the open vote sends `per_member` signed ballots at once, alternately to each host."""
    vote = open_vote(cluster.url)
    clients = {mid: Session(email, PASSWORD).sign_in(cluster.ports[i % 2]) for i, (mid, email) in enumerate(vote["members"])}
    prefix = f"burst {time.time_ns()}"
    calls, tags = [], []
    for mid, c in clients.items():
        for n in range(per_member):
            tag = f"{prefix} {mid}.{n}"
            port = cluster.ports[n % 2]
            tags.append(tag)
            calls.append(lambda c=c, mid=mid, n=n, tag=tag, port=port:
                         ballot(c, port, vote["code"], mid, ("go", "no_go", "abstain")[n % 3], tag))
    started = time.perf_counter()
    results = fire(calls)
    seconds = time.perf_counter() - started
    stored, current = stored_ballots(cluster.url, vote["vote_id"], prefix)
    statuses = collections.Counter(s for s, _ in results)
    untrue = sum(1 for (s, _), tag in zip(results, tags) if (s == 303) != (tag in stored))
    per_member_current = sorted(set(current[mid] for mid in clients))
    ok = per_member_current == [1] and untrue == 0 and not any(s >= 500 for s in statuses)
    return {"ok": ok, "ballots": len(calls), "members": len(clients), "seconds": round(seconds, 1),
            "statuses": dict(sorted(statuses.items())), "current_per_member": per_member_current,
            "answers_untrue_to_database": untrue}


def check_audit(cluster: Cluster) -> dict:
    """`flask audit verify` (the witness included) and, in SQL, one chain: no two events on one link, no gap."""
    import sqlalchemy as sa
    result = cluster.flask("audit", "verify")
    engine = sa.create_engine(cluster.url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        events = conn.scalar(sa.text("SELECT count(*) FROM audit_event"))
        forks = conn.scalar(sa.text(
            "SELECT count(*) FROM (SELECT prev_hash FROM audit_event GROUP BY prev_hash HAVING count(*) > 1) f"))
        # Every event but the first links to an event that exists: nothing missing in between.
        gaps = conn.scalar(sa.text(
            "SELECT count(*) FROM audit_event e WHERE e.id <> (SELECT min(id) FROM audit_event) "
            "AND NOT EXISTS (SELECT 1 FROM audit_event p WHERE p.hash = e.prev_hash)"))
    engine.dispose()
    witness = cluster.work / "audit-witness.jsonl"
    lines = len(witness.read_text().splitlines()) if witness.exists() else 0
    ok = result.returncode == 0 and forks == 0 and gaps == 0
    said = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Audit chain")]
    return {"ok": ok, "verify": said[-1:] or (result.stdout + result.stderr).strip().splitlines()[-1:],
            "exit": result.returncode, "events": events,
            "forks": forks, "gaps": gaps, "witness_checkpoints": lines}


def check_kill(cluster: Cluster, seconds: float = 10, kill_after: float = 3, users: int = 8) -> dict:
    """Readers and voters through HAProxy; host 1 SIGKILLed after `kill_after` s. Every ballot answered "done" must
    be stored, and no request may fail once HAProxy has marked host 1 down."""
    vote = open_vote(cluster.url)
    members = vote["members"][: max(1, users // 2)]
    voters = [(mid, Session(email, PASSWORD).sign_in(cluster.lb_port)) for mid, email in members]
    readers = [Session("secas.admin@example.org", PASSWORD).sign_in(cluster.lb_port) for _ in range(users - len(voters))]
    prefix = f"kill {time.time_ns()}"
    answers: list[tuple[float, str, int, str]] = []  # (time, kind, status, tag)
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + seconds

    def vote_loop(mid, client, k):
        n = 0
        while time.monotonic() < deadline:
            tag = f"{prefix} {mid}.{k}.{n}"
            n += 1
            try:
                status, _ = ballot(client, cluster.lb_port, vote["code"], mid, "go", tag)
            except (OSError, http.client.HTTPException):
                status = 599
            with lock:
                answers.append((time.monotonic(), "ballot", status, tag))

    def read_loop(client):
        paths = ["/", "/tasks", f"/releases/{vote['code']}", "/tasks/count"]
        n = 0
        while time.monotonic() < deadline:
            try:
                status, _ = client.request(cluster.lb_port, "GET", paths[n % len(paths)])
            except (OSError, http.client.HTTPException):
                status = 599
            n += 1
            with lock:
                answers.append((time.monotonic(), "read", status, ""))

    threads = [threading.Thread(target=vote_loop, args=(mid, c, k)) for k, (mid, c) in enumerate(voters)]
    threads += [threading.Thread(target=read_loop, args=(c,)) for c in readers]
    for t in threads:
        t.start()
    time.sleep(kill_after)
    killed_at = time.monotonic()
    cluster.kill_host(1)
    marked_down_at = cluster.wait_state({"app1": "DOWN"}, 15)
    for t in threads:
        t.join()
    stored, current = stored_ballots(cluster.url, vote["vote_id"], prefix)
    failed = [a for a in answers if not (a[2] < 400)]
    done = [a for a in answers if a[1] == "ballot" and a[2] == 303]
    lost = [a for a in done if a[3] not in stored]
    ok = not lost and not [a for a in failed if a[0] > marked_down_at]
    return {"ok": ok, "requests": len(answers), "ballots_done": len(done), "ballots_stored": len(stored),
            "done_but_not_stored": len(lost),
            "failed_but_stored": sum(1 for a in failed if a[1] == "ballot" and a[3] in stored),
            "marked_down_after_s": round(marked_down_at - killed_at, 2),
            "failed_before_kill": sum(1 for a in failed if a[0] < killed_at),
            "failed_between_kill_and_down": sum(1 for a in failed if killed_at <= a[0] <= marked_down_at),
            "failed_after_down": sum(1 for a in failed if a[0] > marked_down_at),
            "failed_statuses": dict(collections.Counter(f"{a[1]} {a[2]}" for a in failed)),
            "after_down_requests": sum(1 for a in answers if a[0] > marked_down_at),
            "current_per_member": sorted(set(current[mid] for mid, _ in members))}


def loadgen(port: int, users: int, seconds: float, targets: str, python: str, seed: int = 0) -> dict:
    # Each run its own seed: a run repeating another's uploads would be refused as duplicates (409).
    out = subprocess.run([python, str(ROOT / "bench/loadgen.py"), "--port", str(port), "--users", str(users),
                          "--seconds", str(seconds), "--seed", str(seed)], env={**os.environ, "LOAD_TARGETS": targets},
                         capture_output=True, text=True, timeout=seconds + 120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--seconds", type=float, default=20, help="load per run (at most 30)")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per host")
    parser.add_argument("--targets", default=os.environ.get("LOAD_TARGETS", ""))
    args = parser.parse_args()
    if args.seconds > 30:
        sys.exit("Keep the load bounded: at most 30 s a run.")
    # A timeout's SIGTERM runs the clean-up below (Cluster.stop) too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = {}
    with Cluster(args.database_url, Path(args.work), workers=args.workers) as cluster:
        print(f"== hosts on 127.0.0.1:{cluster.ports}, HAProxy on 127.0.0.1:{cluster.lb_port}", flush=True)
        print("== load: one host, direct", flush=True)
        report["one host, direct"] = loadgen(cluster.ports[0], args.users, args.seconds, args.targets,
                                             sys.executable, seed=1)
        print("== load: one host behind HAProxy (host 2 drained)", flush=True)
        cluster.admin("set server portal/app2 state drain")
        cluster.wait_state({"app2": "DRAIN"}, 10)
        report["one host, HAProxy"] = loadgen(cluster.lb_port, args.users, args.seconds, args.targets,
                                              sys.executable, seed=2)
        cluster.admin("set server portal/app2 state ready")
        cluster.wait_state({"app2": "UP"}, 10)
        print("== load: two hosts behind HAProxy", flush=True)
        report["two hosts, HAProxy"] = loadgen(cluster.lb_port, args.users, args.seconds, args.targets,
                                               sys.executable, seed=3)
        print("== checks", flush=True)
        checks = {"signed in across hosts": check_session(cluster, "panel.chair@example.org"),
                  "proxy headers trusted from HAProxy only": check_proxy_headers(cluster),
                  "throttle across hosts": check_throttle(cluster, "opsg.member@example.org"),
                  "ballot burst over both hosts": check_burst(cluster),
                  "audit chain, writers on both hosts": None,
                  "host 1 killed under load": None}
        checks["audit chain, writers on both hosts"] = check_audit(cluster)
        checks["host 1 killed under load"] = check_kill(cluster)
        checks["audit chain after the kill"] = check_audit(cluster)
    print(f"\n{'run':<28} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'reads p95':>9} errors")
    for name, r in report.items():
        print(f"{name:<28} {r['throughput_rps']:>7} {r['all']['p50']:>7} {r['all']['p95']:>7} "
              f"{r['reads']['p95']:>9} {sum(r['errors'].values())} {r['errors'] or ''}")
    print()
    for name, result in checks.items():
        print(f"{'PASS' if result['ok'] else 'FAIL'}  {name}: "
              + json.dumps({k: v for k, v in result.items() if k != 'ok'}))
    crashes = {}
    for n in range(1, 3):
        log = (Path(args.work) / f"app{n}.log").read_text(errors="replace")
        crashes[f"app{n}"] = {"worker killed by a signal": log.count("was sent SIG"),
                              "fatal Python error": log.count("Fatal Python error")}
    print(f"worker crashes seen in the hosts' logs (the SIGKILL of host 1 not counted): {crashes}")
    (Path(args.work) / "hosts.json").write_text(json.dumps({"load": report, "checks": checks, "crashes": crashes},
                                                                 indent=1))
    sys.exit(0 if all(r["ok"] for r in checks.values()) else 1)


if __name__ == "__main__":
    main()
