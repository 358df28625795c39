"""Paths to the portal's pages built without a request (tasks, notifications and reminders run from cron too)."""
from flask import current_app


def portal_path(endpoint: str, **values) -> str:
    """A page's path, built from the URL map alone (its adapter is made once per app: building only reads it)."""
    adapter = current_app.extensions.get("portal_path_adapter")
    if adapter is None:
        adapter = current_app.extensions["portal_path_adapter"] = current_app.url_map.bind("")
    return adapter.build(endpoint, values)
