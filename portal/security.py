"""Per-request security: request ids, CSP nonces and headers, idle session timeout, login loading, control
characters refused."""
from __future__ import annotations

import datetime as dt
import re
import secrets
import time
import uuid
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, abort, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user

from .auth.models import User
from .auth.totp_models import TotpCredential, TwoFactorRole
from .extensions import db, htmx, login_manager

# NUL and the other C0 controls: PostgreSQL refuses NUL in text (a 500), SQLite stores it, and none of them
# belongs in a name, a note or a calendar feed. Text may keep tab, CR and LF (textareas are multi-line);
# a path keeps none of them.
TEXT_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
PATH_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _csp(nonce: str) -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ])


def _only_declared_files() -> None:
    """A file sent under a text field's name reaches no text field (it would break its validators: a 500).

    Flask-WTF merges every uploaded file into the form data; keep only files named by the form's file fields.
    """
    from flask_wtf import FlaskForm
    from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict
    from wtforms.fields import FileField, MultipleFileField

    wrap = FlaskForm.Meta.wrap_formdata
    if getattr(wrap, "only_declared_files", False):
        return

    def wrap_formdata(meta, form, formdata):
        formdata = wrap(meta, form, formdata)
        if isinstance(formdata, CombinedMultiDict):
            file_fields = {f.name for f in form if isinstance(f, (FileField, MultipleFileField))}
            files = ImmutableMultiDict([(k, v) for k, v in request.files.items(multi=True) if k in file_fields])
            formdata = CombinedMultiDict([files, request.form])
        return formdata

    wrap_formdata.only_declared_files = True
    FlaskForm.Meta.wrap_formdata = wrap_formdata


class ControlCharacters(Exception):
    """A request carried a control character; `field` names the form field that had it, if any."""

    def __init__(self, field: str | None = None):
        super().__init__(field)
        self.field = field


def _field_label(name: str) -> str | None:
    """The label every form gives a field of this name, or None if the name is unknown or labels differ."""
    from flask_wtf import FlaskForm
    from wtforms.fields.core import UnboundField

    labels, classes = set(), list(FlaskForm.__subclasses__())
    while classes:
        cls = classes.pop()
        classes += cls.__subclasses__()
        field = getattr(cls, name, None)
        if isinstance(field, UnboundField):
            labels.add(field.kwargs.get("label", field.args[0] if field.args else None))
    return labels.pop() if len(labels) == 1 and None not in labels else None


def refuse_control_characters() -> None:
    """Refuse, before any view or query sees them, control characters in the path, the query or a form."""
    if PATH_CONTROL_RE.search(request.path):
        abort(400, "The address of the page contains a character that cannot be used. Check the address.")
    for name, value in request.args.items(multi=True):
        if TEXT_CONTROL_RE.search(name) or TEXT_CONTROL_RE.search(value):
            abort(400, "The address of the page contains a character that cannot be used. Check the address.")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        for name, value in request.form.items(multi=True):
            if TEXT_CONTROL_RE.search(name) or TEXT_CONTROL_RE.search(value):
                raise ControlCharacters(name)
    # Uploaded file names are left to the evidence checks, which refuse control characters with their own message.


def control_characters_message(err: ControlCharacters) -> str:
    """The GOV.UK-style message for a refused form: which field, and what to do."""
    label = _field_label(err.field) if err.field else None
    where = f"{label} contains" if label else "One of the fields contains"
    return f"{where} a control character (such as a null byte) that cannot be used. Remove it and try again."


# Whether the user's role must sign in with a second factor, and whether they have set one up: loaded with the user.
_TWO_FACTOR = (sa.exists().where(TwoFactorRole.role == User.role), sa.exists().where(TotpCredential.user_id == User.id))


def init_app(app: Flask) -> None:
    _only_declared_files()

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        row = db.session.execute(sa.select(User, *_TWO_FACTOR).where(User.id == int(user_id))).first() \
            if user_id.isdigit() else None
        if row is None:
            return None
        user, required, enrolled = row
        # A deactivated account loses its open sessions at once, not only at its next sign-in; so does every session
        # started before the user's sessions were last ended (auth.services.end_sessions).
        if not user.active or session.get("session_generation", 0) != user.session_generation:
            return None
        # What the sign-in gate asks on every request, read with the user (auth.gates.first_step), for this request.
        request.portal_two_factor = (user.id, required, enrolled)
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if htmx:
            # Never let the login page land inside another page's fragment, and come back to the page the
            # fragment was part of (not to the fragment itself).
            page = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = page.path + (f"?{page.query}" if page.query else "") if page.path else None
            return "", 401, {"HX-Redirect": url_for("auth.login", next=back)}
        return redirect(url_for("auth.login",
                                next=request.full_path.rstrip("?") if request.method == "GET" else None))

    @app.before_request
    def start_request():
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        g.csp_nonce = secrets.token_urlsafe(16)
        g.started = time.perf_counter()
        refuse_control_characters()
        if current_user.is_authenticated:
            idle_limit = app.config["SESSION_IDLE_MINUTES"] * 60
            now = int(time.time())
            last_seen = session.get("last_seen", now)
            if now - last_seen > idle_limit:
                logout_user()
                session.clear()
                flash("You were signed out after a period of inactivity.", "info")
                return unauthorized()
            session["last_seen"] = now

    @app.after_request
    def set_headers(response):
        response.headers["Content-Security-Policy"] = _csp(getattr(g, "csp_nonce", ""))
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if "_user_id" in session:  # not current_user: after a commit that would query (and could fail) again
            response.headers["Cache-Control"] = "no-store"
        response.vary.add("HX-Request")
        return response
