"""What the bench scripts that drive a running portal over HTTP share: a signed-in browser session, firing calls at
the same moment, waiting for a server's port. Loopback only, by construction."""
from __future__ import annotations

import http.client
import re
import socket
import threading
import time
import urllib.parse

HOST = "127.0.0.1"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Session:
    """One browser: a session cookie, sent to whichever port it is asked to use (a host, or a load balancer), and
    every request on a fresh connection (a burst's requests are simultaneous)."""

    def __init__(self, email: str, password: str):
        self.email, self.password, self.cookie, self.token = email, password, "", ""

    def request(self, port: int, method: str, path: str, form: dict | None = None,
                timeout: float = 300) -> tuple[int, str]:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read().decode(errors="replace")
        finally:
            conn.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, data

    def login(self, port: int, password: str | None = None) -> int:
        """The sign-in form posted with its CSRF token; the answer's status (302 when signed in)."""
        _, page = self.request(port, "GET", "/login")
        status, _ = self.request(port, "POST", "/login", {"csrf_token": TOKEN_RE.search(page).group(1),
                                                          "email": self.email,
                                                          "password": password or self.password})
        return status

    def sign_in(self, port: int) -> "Session":
        """Signed in, with the CSRF token of a signed-in page kept for the forms that follow."""
        status = self.login(port)
        assert status == 302, f"sign-in of {self.email} answered {status}"
        _, page = self.request(port, "GET", "/tasks")
        self.token = TOKEN_RE.search(page).group(1)
        return self


def fire(calls) -> list:
    """Every call at the same moment, each in its own thread; their results in order (599: no answer, as a dropped
    connection is a failure the person sees)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except (OSError, http.client.HTTPException) as err:
            results[i] = (599, repr(err))

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def wait_for_port(port: int, proc, seconds: float = 60) -> None:
    """Until something listens on the port; an error if the process exits first or nothing comes in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process for port {port} exited with {proc.returncode}")
        try:
            socket.create_connection((HOST, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")
