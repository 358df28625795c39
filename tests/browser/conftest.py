"""Browser tests: Debian's Chromium driven by Playwright against a live server on a free loopback port.

Where Chromium is missing (no root to install it), every browser test is skipped with a message saying so.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.extensions import db
from portal.releases import demo

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", "")


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    reason = (f"browser tests skipped: no Chromium at {CHROMIUM}. Install it with "
              "`apt-get install chromium` (needs root); CI always runs them.")
    config.issue_config_time_warning(pytest.PytestWarning(reason), stacklevel=2)
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    opts = dict(browser_type_launch_args)
    opts.pop("channel", None)
    opts.update(executable_path=CHROMIUM, args=ARGS)
    return opts


CSP_WATCH = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
             "e => window.__csp.push([e.violatedDirective, e.blockedURI, e.sample]))")


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    """Every browser test fails if its last page saw a Content Security Policy violation (an inline style that
    a swap brought in, a script from elsewhere)."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    page.add_init_script(CSP_WATCH)
    yield
    if not page.is_closed():
        try:
            violations = page.evaluate("window.__csp || []")
        except Exception:  # noqa: BLE001 - a page mid-navigation or a download; nothing to read
            return
        assert violations == [], violations


@pytest.fixture
def live_server(app):
    """The portal with the demo release and users, served on 127.0.0.1 in a thread."""
    with app.app_context():
        demo.load_demo_users()
        demo.load_demo_release()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def sign_in(live_server):
    """sign_in(page, email) signs a demo user in on `page`."""

    def do(page, email: str, password: str = demo.DEMO_PASSWORD):
        page.goto(live_server + "/login")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    return do


@pytest.fixture
def axe():
    """axe(page) -> list of violations (axe-core run in the page; the CSP blocks add_script_tag). axe is loaded
    into a page once, and again only after a navigation."""
    source = AXE_JS.read_text()

    def run(page) -> list[dict]:
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(source)
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return result["violations"]

    return run


@pytest.fixture
def screenshot():
    """screenshot(page, name): saved into SCREENSHOT_DIR when set (`make screenshots`)."""

    def take(page, name: str) -> None:
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)

    return take
