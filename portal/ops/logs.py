"""Structured logging: one JSON object a line on stderr, each carrying the request it belongs to."""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time

import sqlalchemy as sa
from flask import Flask, g, has_request_context, request

# A calendar feed's path holds its private token (calendar apps cannot sign in): it is a credential, never logged.
# gunicorn.conf.py redacts the access log with the same pattern.
FEED_TOKEN_RE = re.compile(r"^(/calendar/)[^/]+(?=\.ics$|/[^/]+\.ics$)")


# An emailed invitation or password reset link's path holds its single-use token: a credential too.
ACCOUNT_LINK_RE = re.compile(r"^(/invitation/|/password/reset/)[^/]+")


def redact_path(path: str) -> str:
    """The path fit for a log: a calendar feed token or an account link's token replaced by [redacted]."""
    return ACCOUNT_LINK_RE.sub(r"\1[redacted]", FEED_TOKEN_RE.sub(r"\1[redacted]", path))


# Attributes every LogRecord has; anything else was passed in `extra=` and is logged as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Render a record as one line of JSON, adding the request id, method, path and user."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            user = g.get("_login_user")  # only a user already loaded: logging must never query the database
            # The identity key, not user.id: reading an expired attribute would query from inside the logger.
            identity = sa.inspect(user).identity if user is not None and hasattr(user, "_sa_instance_state") else None
            entry.update(request_id=g.get("request_id", ""), method=request.method, path=redact_path(request.path),
                         user_id=identity[0] if identity else None)
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (gunicorn and pytest both replace it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(app: Flask) -> None:
    """Send the portal's logs as JSON lines to stderr (once per process) and log every request."""
    logger = logging.getLogger("portal")
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
        logger.propagate = False


def init_app(app: Flask) -> None:
    """JSON logs and the access-log line of every request (named in create_app)."""
    configure_logging(app)
    app.after_request(log_request)


def log_request(response):
    """The access-log line: status and duration of every request."""
    started = g.get("started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    logging.getLogger("portal.request").info(
        "request", extra={"status": response.status_code, "duration_ms": duration_ms})
    return response
