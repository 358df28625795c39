"""Every page and fragment, in every situation of the release's life, is valid HTML by the W3C Nu Html Checker.

The situations are the action-table walk's set-ups (tests/test_action_table.py): a draft RID, evidence with a file
and with a request open or answered, the review, the vote open (with an alternate, with a quorum, closed), the
decision either way, approval, deferral. In each, every GET route is read as every role, as a page and as an htmx
fragment. The checker (vnu-jar from npm, run with Debian's default-jre-headless) reads them all in one run;
htmx's own hx-* attributes are its only allowed complaint.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from test_access_matrix import URL_VALUES
from test_action_table import SETUPS, USER_KEYS, world  # noqa: F401  (world is the fixture the set-ups use)

VNU = Path(__file__).resolve().parents[1] / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = shutil.which("java")
# htmx's attributes are not HTML's: the only messages allowed.
ALLOWED = r".*“hx-[a-z-]+”.*"
# Not HTML (files, feeds, the health check) or not a page (sign-out ends the session).
SKIP = {"auth.logout", "ops.healthz", "pack.pack_json", "pack.pack_pdf", "evidence.download", "calendar.feed",
        "calendar.release_feed", "releases.task_count", "document.version_pdf", "document.version_docx",
        "document.live_pdf", "document.live_docx", "document.compare_pdf", "notices.feed"}

if not (JAVA and VNU.exists()):
    REASON = (f"HTML validity not checked: {'no java' if not JAVA else f'no {VNU}'}. Install Debian's "
              "default-jre-headless and run `npm ci`; `make test` does both where it can, and CI always does.")
    if os.environ.get("CI"):
        raise RuntimeError(REASON)  # CI must check, never skip
    pytestmark = pytest.mark.skip(reason=REASON)


def _wrap(fragment: str) -> str:
    """A fragment as the document it is swapped into (the checker reads whole documents)."""
    body = fragment
    if fragment.lstrip().startswith("<tr"):  # a table row, swapped into its table: give it the table's columns
        first = re.search(r"<tr\b.*?</tr>", fragment, re.S).group(0)
        columns = sum(int(span or 1) for span in re.findall(r"<t[dh]\b(?:[^>]*\bcolspan=\"(\d+)\")?", first))
        head = "".join(f"<th>Column {n}</th>" for n in range(columns))
        body = f"<table><thead><tr>{head}</tr></thead><tbody>{fragment}</tbody></table>"
    return f'<!DOCTYPE html><html lang="en"><head><title>Fragment</title></head><body>{body}</body></html>'


def _urls(w) -> list[tuple[str, str]]:
    """(endpoint, url) for every GET route, with this situation's release, file and request."""
    values = dict(URL_VALUES, code=w.code, file_id=w.ids.get("file", 1), request_id=w.ids.get("request", 1))
    found = []
    for rule in w.app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIP or rule.endpoint == "static":
            continue
        found.append((rule.endpoint, rule.build({a: values[a] for a in rule.arguments}, append_unknown=False)[1]))
    return sorted(found)


# What differs on every request or session without changing the markup: the script nonce and the CSRF token. They
# are replaced, so one page read twice (as a page and as an htmx request it ignores, by two roles, in two
# situations) is one document.
_VARYING = re.compile(r'\b(nonce|name="csrf_token" value)="[^"]*"')


def _refused(w, endpoint: str, key: str) -> bool:
    """Whether the route's roles leave `key` out: the answer is the one refusal page, whatever the route."""
    view, user = w.app.view_functions[endpoint], w.users[key]
    roles = getattr(view, "allowed_roles", None)
    return roles is not None and (user.role not in roles or (view.admin_only and not user.is_admin))


def _collect(w, label: str, documents: dict[str, tuple[str, str]]) -> None:
    for key in USER_KEYS:
        client = w.client(key)
        refused = [endpoint for endpoint, _ in _urls(w) if _refused(w, endpoint, key)]
        for endpoint, url in _urls(w):
            if endpoint in refused[1:]:  # the refusal page is read once a role
                continue
            for htmx in (False, True):
                response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
                if response.status_code >= 500:
                    raise AssertionError(f"{url} as {key}: {response.status_code}")
                if response.mimetype != "text/html" or not response.data.strip():
                    continue
                html = response.get_data(as_text=True)
                html = html if html.lstrip().lower().startswith("<!doctype") else _wrap(html)
                html = _VARYING.sub(r'\1="x"', html)
                digest = hashlib.sha256(html.encode()).hexdigest()
                documents.setdefault(digest, (f"{label}: {key} {'htmx ' if htmx else ''}GET {url} "
                                              f"({response.status_code})", html))


def _check(documents: dict[str, tuple[str, str]], folder: Path) -> list[str]:
    folder.mkdir()
    names = {}
    for n, (digest, (where, html)) in enumerate(sorted(documents.items())):
        path = folder / f"{n:05d}.html"
        path.write_text(html, encoding="utf-8")
        names[path.name] = where
    run = subprocess.run([JAVA, "-Xss4m", "-jar", str(VNU), "--format", "json", "--errors-only",
                          "--filterpattern", ALLOWED, *sorted(str(folder / p) for p in os.listdir(folder))],
                         capture_output=True, text=True, timeout=600)
    messages = json.loads(run.stderr or '{"messages": []}')["messages"]
    if os.environ.get("VNU_DUMP"):
        Path(os.environ["VNU_DUMP"]).write_text(json.dumps([dict(m, where=names.get(Path(m.get("url", "")).name)) for m in messages]))
    return [f"{names.get(Path(m.get('url', '')).name, m.get('url'))}: line {m.get('lastLine')}: {m['message']} "
            f"[{(m.get('extract') or '').strip()[:120]}]" for m in messages]


@pytest.mark.parametrize("case", SETUPS, ids=[case.name for case in SETUPS])
def test_every_page_and_fragment_is_valid_html(world, tmp_path, case):  # noqa: F811
    w, documents = world, {}
    case.setup(w)
    _collect(w, case.name, documents)
    assert len(documents) > 100, f"only {len(documents)} distinct documents: is the walk reading the pages?"
    problems = _check(documents, tmp_path / "html")
    assert not problems, f"{len(problems)} HTML errors:\n" + "\n".join(problems[:60])
