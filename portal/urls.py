"""Paths and absolute links to the portal's pages, built with or without a request (tasks, notifications and
reminders run from cron too)."""
from flask import current_app, has_request_context, request

FALLBACK_BASE_URL = "http://127.0.0.1:5000"


def portal_path(endpoint: str, **values) -> str:
    """A page's path, built from the URL map alone."""
    return current_app.url_map.bind("").build(endpoint, values)


def base_url() -> str:
    """The portal's public address: PORTAL_BASE_URL (or the older PORTAL_URL), else the request's host, else the
    development server's."""
    configured = current_app.config.get("PORTAL_BASE_URL") or current_app.config.get("PORTAL_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return FALLBACK_BASE_URL


def absolute_url(path: str) -> str:
    """An absolute link for an email: the base address and a path ("/releases/feb-2021"); already absolute
    links are kept."""
    if not path or "://" in path:
        return path
    return base_url() + (path if path.startswith("/") else "/" + path)


def portal_url(endpoint: str, **values) -> str:
    """A page's absolute address, for emails."""
    return absolute_url(portal_path(endpoint, **values))
