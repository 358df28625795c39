"""Paths and absolute links to the portal's pages, built with or without a request (tasks, notifications and
reminders run from cron too)."""
import logging

from flask import current_app, has_request_context, request

log = logging.getLogger("portal.urls")

FALLBACK_BASE_URL = "http://127.0.0.1:5000"


def portal_path(endpoint: str, **values) -> str:
    """A page's path, built from the URL map alone (its adapter is made once per app: building only reads it)."""
    adapter = current_app.extensions.get("portal_path_adapter")
    if adapter is None:
        adapter = current_app.extensions["portal_path_adapter"] = current_app.url_map.bind("")
    return adapter.build(endpoint, values)


def request_host_is_trusted() -> bool:
    """Whether the request's Host header may build a link that is itself a credential (an invitation, a password
    reset link anyone can ask for): only in development and tests (PORTAL_TRUST_REQUEST_HOST). In production a forged
    Host would send the link to another site (password reset poisoning), so such links need PORTAL_BASE_URL."""
    return bool(current_app.config.get("PORTAL_TRUST_REQUEST_HOST"))


def base_url(*, secret: bool = False) -> str:
    """The portal's public address: PORTAL_BASE_URL (or the older PORTAL_URL), else the request's host, else the
    development server's. A `secret` link never trusts an unchecked Host header."""
    configured = current_app.config.get("PORTAL_BASE_URL") or current_app.config.get("PORTAL_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context() and (not secret or request_host_is_trusted()):
        return request.host_url.rstrip("/")
    if has_request_context():
        log.error("PORTAL_BASE_URL is not set: an emailed link points at %s", FALLBACK_BASE_URL)
    return FALLBACK_BASE_URL


def absolute_url(path: str, *, secret: bool = False) -> str:
    """An absolute link for an email: the base address and a path ("/releases/feb-2021"); already absolute
    links are kept."""
    if not path or "://" in path:
        return path
    return base_url(secret=secret) + (path if path.startswith("/") else "/" + path)


def portal_url(endpoint: str, *, secret: bool = False, **values) -> str:
    """A page's absolute address, for emails (`secret`: the link itself is a credential)."""
    return absolute_url(portal_path(endpoint, **values), secret=secret)
