"""After an htmx step, every region it may have changed refreshes, and its message shows as it would without
JavaScript.

- A successful htmx POST also triggers `portal-changed` (besides its own event, such as `criterion-changed`): the
  header's task and notification counts, the release page's RID version and version history listen for it.
- The step's flashed message (the same `flash` a plain form post shows after its redirect) is swapped into the
  page's message region out of band.
"""
from __future__ import annotations

import json

from flask import Flask, get_flashed_messages, render_template, request

from .extensions import htmx

EVENT = "portal-changed"


def _with_event(header: str | None) -> str:
    """The response's HX-Trigger with `portal-changed` added (a comma list, or htmx's JSON form)."""
    if not header:
        return EVENT
    if header.lstrip().startswith("{"):
        events = json.loads(header)
        events.setdefault(EVENT, None)
        return json.dumps(events)
    names = [name.strip() for name in header.split(",") if name.strip()]
    return ", ".join(names if EVENT in names else [*names, EVENT])


def init_app(app: Flask) -> None:
    @app.after_request
    def refresh_after_an_htmx_step(response):
        if not htmx or request.method != "POST" or response.status_code >= 400:
            return response
        response.headers["HX-Trigger"] = _with_event(response.headers.get("HX-Trigger"))
        if response.mimetype == "text/html" and not response.direct_passthrough and "HX-Redirect" not in \
                response.headers:
            messages = get_flashed_messages(with_categories=True)
            if messages:
                banner = render_template("_messages.html", messages=messages, oob=True)
                response.set_data(response.get_data() + banner.encode())
        return response
