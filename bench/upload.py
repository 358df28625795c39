"""Upload benchmark: a 200 MB evidence file through the real server (werkzeug on 127.0.0.1, temp SQLite, demo data)
as the DCC, against a plain file copy on the same disk, with the server's peak RSS growth (from /proc).

    .venv/bin/python bench/upload.py [--mb 200] [--runs 3] [--profile]

Each run times, in this order:
  - the plain copy: shutil.copyfile (an in-kernel copy on Linux) then fsync: the headline baseline;
  - a userspace copy: a read/write loop with 1 MB chunks then fsync: what any copy through a process costs;
  - the HTTP upload (a different file content each run, so each one is stored and fsynced).
Every timed step starts after os.sync(), so none of them pays for another's write-back (or the source file's).
The best of the runs is reported for each, and the upload's ratio is best against best; every run is listed too.
The stored file's name (its SHA-256) is checked against the bytes sent. --profile prints where the server's request
thread spent the last upload (cProfile; the hashing and write-back helper threads are not in it).
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOUNDARY = "----portalbench"
CHUNK = 1024 * 1024

SERVER = r'''
import sys, sqlalchemy as sa
sys.path.insert(0, {root!r})
from werkzeug.serving import make_server
from config import TestConfig
from portal import create_app
from portal.extensions import db
from portal.releases import demo
from portal.releases.models import Release, Stage

class BenchConfig(TestConfig):
    SQLALCHEMY_DATABASE_URI = "sqlite:///{work}/bench.db"
    UPLOAD_FOLDER = "{work}/evidence"
    MAX_CONTENT_LENGTH = {limit}

app = create_app(BenchConfig)
with app.app_context():
    db.create_all()
    demo.load_demo_users()
    release, _ = demo.load_demo_release()
    release.stage = Stage.EVIDENCE
    db.session.commit()
make_server("127.0.0.1", {port}, app, threaded=True).serve_forever()
'''

# With --profile: inserted before make_server(...) in SERVER; cProfile around each evidence upload, the last one's
# stats written to `out` when the server is terminated.
PROFILE = r'''
import cProfile, pstats, signal, io
_profile, _wsgi = None, app.wsgi_app
def _profiled(environ, start_response):
    global _profile
    if environ["REQUEST_METHOD"] != "POST" or not environ["PATH_INFO"].endswith("/evidence"):
        return _wsgi(environ, start_response)
    _profile = cProfile.Profile()
    _profile.enable()
    try:
        return _wsgi(environ, start_response)
    finally:
        _profile.disable()
def _write_profile(*_):
    if _profile is not None:
        text = io.StringIO()
        pstats.Stats(_profile, stream=text).sort_stats("tottime").print_stats(15)
        open({out!r}, "w").write(text.getvalue())
    sys.exit(0)
app.wsgi_app = _profiled
signal.signal(signal.SIGTERM, _write_profile)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def request(port: int, method: str, path: str, cookie: str = "", body: bytes | None = None,
            headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request(method, path, body=body, headers={**(headers or {}), **({"Cookie": cookie} if cookie else {})})
    response = conn.getresponse()
    data = response.read().decode("utf-8", "replace")
    conn.close()
    return response, data


def session_cookie(response, cookie: str) -> str:
    for header in response.headers.get_all("Set-Cookie") or []:
        cookie = header.split(";", 1)[0]
    return cookie


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def sign_in(port: int) -> tuple[str, str]:
    response, page = request(port, "GET", "/login")
    cookie = session_cookie(response, "")
    form = f"email=dcc.lead%40example.org&password=demo-password-2021&csrf_token={csrf(page)}"
    response, _ = request(port, "POST", "/login", cookie, form.encode(),
                          {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 302, response.status
    cookie = session_cookie(response, cookie)
    response, page = request(port, "GET", "/releases/feb-2021/criteria/1", cookie)
    return session_cookie(response, cookie), csrf(page)


def upload(port: int, cookie: str, token: str, path: Path, prefix: bytes = b"") -> int:
    """Stream the multipart body from disk: the client holds one chunk at a time too. The file sent is `prefix`
    followed by the file at `path`."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nBenchmark file\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode() + prefix
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", "/releases/feb-2021/criteria/1/evidence")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(len(head) + path.stat().st_size + len(tail)))
    conn.putheader("Cookie", cookie)
    conn.endheaders()
    conn.send(head)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def plain_copy(source: Path, target: Path) -> float:
    """shutil.copyfile (sendfile/copy_file_range: the kernel copies) and fsync; seconds."""
    start = time.perf_counter()
    shutil.copyfile(source, target)
    with target.open("rb") as f:
        os.fsync(f.fileno())
    return time.perf_counter() - start


def userspace_copy(source: Path, target: Path) -> float:
    """Read and write 1 MB at a time through this process, then fsync; seconds."""
    start = time.perf_counter()
    with source.open("rb", buffering=0) as src, target.open("wb", buffering=0) as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
        os.fsync(dst.fileno())
    return time.perf_counter() - start


def sha256_of(prefix: bytes, path: Path) -> str:
    digest = hashlib.sha256(prefix)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def rate(mb: float, seconds: float) -> str:
    return f"{seconds:.2f} s = {mb / seconds:.0f} MB/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the server's profile of the last upload")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="portal-bench-", dir=os.environ.get("BENCH_DIR")) as work:
        source = Path(work) / "source.bin"
        with source.open("wb") as f:
            for _ in range(args.mb):
                f.write(os.urandom(CHUNK))
        mb = source.stat().st_size / CHUNK

        port = free_port()
        script = SERVER.format(root=str(ROOT), work=work, port=port, limit=(args.mb + 50) * CHUNK)
        profile_out = Path(work) / "profile.txt"
        if args.profile:
            script = script.replace("make_server(", PROFILE.format(out=str(profile_out)) + "make_server(")
        server = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL)
        copies, userspace, uploads, statuses, intact, growths, cpu = [], [], [], [], [], [], []
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.2)
            cookie, token = sign_in(port)
            for run in range(1, args.runs + 1):
                for timed, results in ((plain_copy, copies), (userspace_copy, userspace)):
                    target = Path(work) / "copy.bin"
                    os.sync()
                    results.append(timed(source, target))
                    target.unlink()
                prefix = f"%PDF-1.4\n%bench run {run}\n".encode()  # a new file each run: stored, not a duplicate
                os.sync()
                # Reset the kernel's peak-RSS mark so the peak measured is the upload's own.
                Path(f"/proc/{server.pid}/clear_refs").write_text("5")
                rss_before = rss_kb(server.pid, "VmRSS")
                server_before, client_before = cpu_seconds(server.pid), resource.getrusage(resource.RUSAGE_SELF)
                start = time.perf_counter()
                statuses.append(upload(port, cookie, token, source, prefix))
                uploads.append(time.perf_counter() - start)
                server_after, client_after = cpu_seconds(server.pid), resource.getrusage(resource.RUSAGE_SELF)
                growths.append((rss_kb(server.pid, "VmHWM") - rss_before, rss_before))
                cpu.append((server_after[0] - server_before[0], server_after[1] - server_before[1],
                            client_after.ru_utime + client_after.ru_stime
                            - client_before.ru_utime - client_before.ru_stime))
                stored = list((Path(work) / "evidence").glob("??/*"))
                intact.append([p.name for p in stored] == [sha256_of(prefix, source)])
                for p in stored:  # keep the page cache as it was for the next run
                    p.unlink()
        finally:
            server.terminate()
            server.wait(timeout=10)

        best = uploads.index(min(uploads))
        growth, rss_before = max(growths)
        print(f"file: {mb:.0f} MB; {args.runs} run(s), best of each; upload status {', '.join(map(str, statuses))}; "
              f"stored byte-identical (SHA-256 of what was sent): {'yes' if all(intact) else 'NO'}")
        print(f"plain copy (shutil.copyfile, with fsync):     {rate(mb, min(copies))}")
        print(f"userspace copy (1 MB read/write, with fsync): {rate(mb, min(userspace))}")
        print(f"HTTP upload as the DCC:  {rate(mb, uploads[best])} ({min(copies) / uploads[best]:.0%} of copy speed; "
              f"{min(userspace) / uploads[best]:.0%} of the userspace copy's)")
        print("  each run (s): copy " + " ".join(f"{s:.2f}" for s in copies)
              + "; userspace copy " + " ".join(f"{s:.2f}" for s in userspace)
              + "; upload " + " ".join(f"{s:.2f}" for s in uploads))
        user, system, client = cpu[best]
        print(f"  CPU in the best upload: server {user:.2f} s user + {system:.2f} s system, client {client:.2f} s "
              f"({os.cpu_count()} CPUs)")
        print(f"server RSS before upload {rss_before / 1024:.0f} MB, growth at peak {growth / 1024:.0f} MB "
              "(largest of the runs)")
        if args.profile and profile_out.exists():
            print("\nserver request thread, last upload (cProfile, by own time):")
            print(profile_out.read_text())
        if any(status != 303 for status in statuses) or not all(intact):
            sys.exit("upload failed or stored the wrong bytes")


if __name__ == "__main__":
    main()
