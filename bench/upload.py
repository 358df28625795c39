"""Upload benchmark: a 200 MB evidence file through the real server (werkzeug on 127.0.0.1, temp SQLite, demo data)
as the DCC, against a plain file copy on the same disk, with the server's peak RSS growth (from /proc).

    .venv/bin/python bench/upload.py [--mb 200]
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


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


def upload(port: int, cookie: str, token: str, path: Path) -> int:
    """Stream the multipart body from disk: the client holds one chunk at a time too."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nBenchmark file\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="portal-bench-", dir=os.environ.get("BENCH_DIR")) as work:
        source = Path(work) / "source.pdf"
        with source.open("wb") as f:
            f.write(b"%PDF-1.4\n")
            for _ in range(args.mb):
                f.write(os.urandom(CHUNK))
        size = source.stat().st_size

        start = time.perf_counter()
        copy = Path(work) / "copy.pdf"
        shutil.copyfile(source, copy)
        with copy.open("rb") as f:
            os.fsync(f.fileno())
        copy_seconds = time.perf_counter() - start
        copy.unlink()

        port = free_port()
        script = SERVER.format(root=str(ROOT), work=work, port=port, limit=(args.mb + 50) * CHUNK)
        server = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.2)
            cookie, token = sign_in(port)
            # Reset the kernel's peak-RSS mark so the peak measured is the upload's own.
            Path(f"/proc/{server.pid}/clear_refs").write_text("5")
            rss_before = rss_kb(server.pid, "VmRSS")
            start = time.perf_counter()
            status = upload(port, cookie, token, source)
            upload_seconds = time.perf_counter() - start
            peak = rss_kb(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=10)
        stored = list((Path(work) / "evidence").glob("??/*"))
        mb = size / CHUNK
        print(f"file: {mb:.0f} MB; upload status {status}; stored files: {len(stored)}")
        print(f"plain copy (with fsync): {copy_seconds:.2f} s = {mb / copy_seconds:.0f} MB/s")
        print(f"HTTP upload as the DCC:  {upload_seconds:.2f} s = {mb / upload_seconds:.0f} MB/s "
              f"({copy_seconds / upload_seconds:.0%} of copy speed)")
        print(f"server RSS before upload {rss_before / 1024:.0f} MB, peak {peak / 1024:.0f} MB, "
              f"growth {(peak - rss_before) / 1024:.0f} MB")
        if status != 303:
            sys.exit(f"upload failed with status {status}")


if __name__ == "__main__":
    main()
