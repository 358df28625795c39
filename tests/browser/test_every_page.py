"""Every page, in the situations of the release's life where each role has most to do, passes axe-core at desktop
width and at 375 px, and at 375 px the page never scrolls sideways.

The situations are set up by the action-table walk (tests/test_action_table.py) through HTTP; each role's session
signs in in the browser, so the browser sees exactly what that role sees.
"""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from conftest import PASSWORD
from test_action_table import BY_NAME, world  # noqa: F401  (world is the fixture the set-ups use)
from test_html_valid import _urls

# One situation per stage, with the most on its pages: evidence with a file and an open request, an answered
# request in review, the vote open with an alternate, approval with conditions' go-live, deferral, and Live with
# its draft go-live notice.
SITUATIONS = ["baseline", "answer_request", "revoke_alternate", "confirm_deployment", "replan", "publish_notice"]
ROLES = ("dcc", "secas", "opsg_chair", "panel_chair")
WIDTHS = {"desktop": 1280, "375 px": 375}
# Pages whose controls differ by role: read as every role; any other page once, as the first role that may.
BY_ROLE = {"releases.show", "criteria.show", "criteria.index", "decisions.vote", "decisions.go_live",
           "decisions.conditions", "decisions.recommendation", "decisions.decision", "releases.my_tasks",
           "releases.index"}
# Pages that only redirect or refuse here, or are not pages (files, fragments that need a form's context).
NOT_PAGES = {"totp.login_code", "auth.login", "auth.accept_invitation", "auth.reset_password",
             "auth.forgotten_password"}


@pytest.fixture
def served(world):  # noqa: F811
    server = make_server("127.0.0.1", 0, world.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def _sign_in(page, base: str, user) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _pages(w, key: str) -> list[tuple[str, str]]:
    """The whole pages `key` may read in this situation (a fragment's own URL answers with the fragment alone)."""
    client = w.client(key)
    return [(e, u) for e, u in _urls(w) if e not in NOT_PAGES
            if (r := client.get(u)).status_code == 200 and r.mimetype == "text/html"
            and r.get_data(as_text=True).lstrip().lower().startswith("<!doctype")]


# One test per situation and role (24 of them), so parallel workers share the sweep evenly.
@pytest.mark.parametrize("key", ROLES)
@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_page_passes_axe_and_fits_375px(world, served, browser, axe, situation, key):  # noqa: F811
    w = world
    BY_NAME[situation].setup(w)
    problems = []
    # A page whose controls do not differ by role is read once, by the first role (in ROLES order) that may.
    seen = {endpoint for earlier in ROLES[:ROLES.index(key)] for endpoint, _ in _pages(w, earlier)}
    pages = [(e, u) for e, u in _pages(w, key) if e in BY_ROLE or e not in seen]
    # One navigation a page: checked at desktop width, then narrowed to 375 px and checked again (the styles'
    # media queries and GOV.UK Frontend's own listeners follow the viewport), as a phone would show it.
    context = browser.new_context(viewport={"width": WIDTHS["desktop"], "height": 900})
    page = context.new_page()
    _sign_in(page, served, w.users[key])
    for endpoint, url in pages:
        page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})
        page.goto(served + url)
        assert "/login" not in page.url, (key, url, page.url)
        for label, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 900})
            for violation in axe(page):
                problems.append(f"{key} {label} {url}: {violation['id']}: {violation['help']} "
                                f"({len(violation['nodes'])}: {violation['nodes'][0]['target']})")
            if width == 375:
                overflow = page.evaluate("document.documentElement.scrollWidth")
                if overflow > width:
                    wide = page.evaluate("""(limit) => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > limit + 1)
                        .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                                         + '.' + [...e.classList].join('.'))""", width)
                    problems.append(f"{key} {url}: the page is {overflow} px wide at 375 px ({wide})")
    context.close()
    assert {"releases.show", "releases.my_tasks"} <= {e for e, _ in pages}, pages  # signed in, sees the release
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
