"""Paths to the portal's pages built without a request (tasks, notifications and reminders run from cron too)."""
from flask import current_app


def portal_path(endpoint: str, **values) -> str:
    """A page's path, built from the URL map alone."""
    return current_app.url_map.bind("").build(endpoint, values)
