"""gunicorn settings for `make serve` (production: PostgreSQL, several workers).

Every value can be overridden from the environment:
  BIND             address to listen on (default 127.0.0.1:8000; put a TLS-terminating proxy in front)
  WEB_CONCURRENCY  number of worker processes (default 2 x CPU cores + 1)
  GUNICORN_TIMEOUT seconds a request may take before its worker is restarted (default 120: large evidence uploads)
  GUNICORN_MAX_REQUESTS  requests after which a worker is replaced (default 2000; 0 never)
  FORWARDED_ALLOW_IPS  proxies trusted for X-Forwarded-* headers (default 127.0.0.1)

The app needs DATABASE_URL (postgresql+psycopg://...) and SECRET_KEY; PORTAL_CONFIG=production is set by `make serve`.
Login throttling and the audit chain live in the database, so they hold across workers.
"""
import multiprocessing
import os
import re

from gunicorn.glogging import Logger

# As portal/ops/logs.py FEED_TOKEN_RE (not imported: the master must not load the app): a calendar feed's path holds
# its private token, a credential that must never reach the access log.
FEED_TOKEN_RE = re.compile(r"(/calendar/)[^/?\s]+(?=\.ics(?:[?\s]|$)|/[^/?\s]+\.ics(?:[?\s]|$))")
# As portal/ops/logs.py ACCOUNT_LINK_RE: an invitation or password reset link's single-use token.
ACCOUNT_LINK_RE = re.compile(r"(/invitation/|/password/reset/)[^/?\s]+")


class RedactingLogger(Logger):
    """gunicorn's logger, with calendar feed and account link tokens replaced by [redacted] in the request line, path
    and referrer."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = ACCOUNT_LINK_RE.sub(r"\1[redacted]", FEED_TOKEN_RE.sub(r"\1[redacted]", atoms[key]))
        return atoms

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
graceful_timeout = 30
# Restart workers now and then so a slow leak can never take the service down (0: never; bench/load.sh, so that a
# 30-second run does not time worker restarts).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
# Each worker opens its own database connections: never share a pool across fork.
preload_app = False
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
logger_class = RedactingLogger
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
