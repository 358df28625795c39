"""The SEC Release Portal: create_app builds it from a config class."""
from __future__ import annotations

import json
import logging

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError, generate_csrf
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import BytecodeCache, ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader, Template
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import access, database, ids, models, refresh, security, timeutil  # noqa: F401  (models: every table, for the metadata)
from .audit import keys as audit_keys, services as audit_services
from .auth import gates
from .criteria.storage import UploadRequest
from .extensions import csrf, db, htmx, login_manager, migrate
from .ops import logs
from .releases import rid_live, rid_text
from .releases.rid_view import pounds
from .audit.cli import audit_cli
from .audit.views import bp as audit_bp
from .auth.cli import users_cli
from .auth.totp_views import bp as totp_bp
from .auth.views import bp as auth_bp
from .calendar.views import bp as calendar_bp
from .criteria.views import bp as criteria_bp
from .decisions.views import bp as decisions_bp
from .document.views import bp as document_bp
from .criteria.cli import clean_uploads
from .criteria.evidence_views import bp as evidence_bp
from .notifications.cli import deliver_mail, send_reminders_command
from .notices.views import bp as notices_bp
from .notifications.views import bp as notifications_bp
from .ops.cli import backup_command, restore_command
from .ops.views import bp as ops_bp
from .pack.cli import import_pack_command
from .pack.views import bp as pack_bp
from .releases.cli import portal_cli
from .rid_import.cli import rid_cli
from .rid_import.views import bp as rid_import_bp
from .releases.lifecycle_views import bp as lifecycle_bp
from .releases.views import bp as releases_bp
from .releases import authoring_views  # noqa: F401,E402  (its routes are on releases_bp)

log = logging.getLogger("portal")


class _CompiledTemplates(BytecodeCache):
    """Each template's compiled code, kept for the life of the process, so that every app the process builds
    compiles a template once (the tests build an app per test: without this, compiling templates took 40% of
    their time). Jinja checks the template's source checksum on load, so an edited template compiles afresh."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if (code := self._code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


class _Template(Template):
    """Jinja's Template, with a cheaper test on each `{% from ... import %}`. Jinja reuses the imported template's
    module unless the importing template has globals the imported one lacks, and finds out by a set difference over
    a ChainMap: one Python-level lookup per global, per import (the release page makes about 70 imports, one or two
    per RID row it includes). `issubset` gives the same answer from one pass in C; anything else is Jinja's own."""

    def _get_default_module(self, ctx=None):
        if ctx is not None and ctx.globals_keys.issubset(self.globals):
            ctx = None  # nothing to add: the cached module, as Jinja returns it
        return super()._get_default_module(ctx)


def create_app(config_class) -> Flask:
    app = Flask(__name__, static_folder="../static", template_folder="../templates",
                instance_relative_config=False)
    # Uploaded file parts stream into hashed temp files in the upload folder (portal/evidence/storage.py).
    app.request_class = UploadRequest
    app.config.from_object(config_class)
    if app.config.get("PROXY_HOPS"):
        # X-Forwarded-For only: X-Forwarded-Proto stays gunicorn's (FORWARDED_ALLOW_IPS names who may send it).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=0, x_host=0, x_port=0,
                                x_prefix=0)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set outside development and tests")
    audit_keys.init_app(app)
    app.jinja_options = {**app.jinja_options, "bytecode_cache": _COMPILED_TEMPLATES}
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(app.root_path + "/../templates"),
        PrefixLoader({
            "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
            "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
        }),
    ])
    app.jinja_env.template_class = _Template  # before any template loads
    WTFormsHelpers(app)

    db.init_app(app)
    migrate.init_app(app, db)
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)

    database.init_app(app)
    security.init_app(app)
    gates.init_app(app)  # after security: an idle session is signed out before any gate
    audit_services.init_app(app)
    rid_live.init_app(app)
    logs.init_app(app)
    refresh.init_app(app)  # after an htmx step: the changed regions refresh, its message shows

    # Before any rule is added: every <int:...> in a URL is bounded to what the database holds.
    app.url_map.converters["int"] = ids.BoundedIntConverter
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_error_handlers(app)
    _register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:

    for bp in (auth_bp, totp_bp, releases_bp, evidence_bp, criteria_bp, decisions_bp, audit_bp, ops_bp,
               notifications_bp, calendar_bp, pack_bp, lifecycle_bp, document_bp, notices_bp,
               rid_import_bp):
        app.register_blueprint(bp)


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["uk_time"] = timeutil.uk_time
    app.jinja_env.filters["uk_date"] = timeutil.uk_date
    app.jinja_env.filters["pounds"] = pounds
    app.jinja_env.filters["due_phrase"] = timeutil.due_phrase
    app.jinja_env.globals["rid_words"] = rid_text.WORDING

    @app.context_processor
    def portal_context():
        return {
            "assetPath": request.script_root + "/static/govuk/assets",
            "cspNonce": getattr(g, "csp_nonce", ""),
            "Role": access.Role,
            "htmx_headers": json.dumps({"X-CSRFToken": generate_csrf()}),
            "today": timeutil.today(),
        }


def _render_error(status: int, title: str, message: str, problem: bool = False):
    """The error page (or HTMX message); `problem` shows the message as a GOV.UK error summary."""
    template = "errors/_message.html" if htmx else "errors/error.html"
    body = render_template(template, status=status, title=title, message=message, problem=problem,
                           ref=getattr(g, "request_id", ""))
    # An HTMX refusal lands in the page's message region, whatever element asked.
    headers = {"HX-Retarget": "#portal-messages", "HX-Reswap": "innerHTML"} if htmx else {}
    return body, status, headers


def _register_error_handlers(app: Flask) -> None:
    titles = {400: "Bad request", 403: "You cannot do that", 404: "Page not found",
              405: "Method not allowed", 409: "That cannot be done now", 413: "File too large",
              422: "Check your input", 429: "Too many attempts"}

    @app.errorhandler(access.PortalError)
    def portal_error(err: access.PortalError):
        if err.status in (403, 409):
            log.warning("refused", extra={"status": err.status, "reason": err.message})
        db.session.rollback()
        return _render_error(err.status, titles.get(err.status, "Error"), err.message)

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):
        db.session.rollback()
        return _render_error(400, "Your form has expired",
                             "The page was open too long or the form was not sent from the portal. "
                             "Go back, reload the page and try again.")

    @app.errorhandler(security.ControlCharacters)
    def control_characters(err: security.ControlCharacters):
        db.session.rollback()
        return _render_error(422, titles[422], security.control_characters_message(err), problem=True)

    @app.errorhandler(413)
    def too_large(err):
        limit_mb = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return _render_error(413, titles[413], f"The file must be smaller than {limit_mb} MB.")

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        db.session.rollback()
        code = err.code or 500
        if code >= 500:
            return _render_error(code, "Sorry, there is a problem with the service", "Try again later.")
        return _render_error(code, titles.get(code, err.name), err.description or "")

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        database_down = isinstance(err, (OperationalError, InterfaceError, SATimeoutError)) or getattr(
            err, "connection_invalidated", False)
        try:
            db.session.rollback()
        except Exception:  # the connection may be gone; the pool replaces it on the next request
            db.session.invalidate()
        if database_down:
            # Render as anonymous: loading the user (nav, task count) would need the database again.
            g._login_user = login_manager.anonymous_user()
            log.error("database unavailable", extra={"reason": f"{type(err).__name__}: {err}"[:500]})
            return _render_error(503, "The service is temporarily unavailable",
                                 "The portal cannot reach its database. Try again in a few minutes; "
                                 "if you were saving something, check whether it was saved first.")
        log.exception("unhandled error")
        return _render_error(500, "Sorry, there is a problem with the service", "Try again later.")


def _register_cli(app: Flask) -> None:

    portal_cli.add_command(backup_command)
    portal_cli.add_command(restore_command)
    portal_cli.add_command(clean_uploads)
    portal_cli.add_command(deliver_mail)
    portal_cli.add_command(send_reminders_command)
    portal_cli.add_command(import_pack_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(portal_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(rid_cli)
