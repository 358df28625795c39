"""Two-factor sign-in: everyone may set up an authenticator; a SECAS admin chooses the roles that must."""
from __future__ import annotations

import logging
import time

from flask import (Blueprint, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, login_user

from ..access import PortalError, Role, public, roles_required
from ..extensions import db
from . import services, totp
from .models import User
from .totp_forms import CodeForm, DisableForm, EnrolForm, PolicyForm

bp = Blueprint("totp", __name__)
log = logging.getLogger("portal.auth")
PENDING_SECONDS = 300


def start_second_factor(user: User, next_url: str) -> None:
    """Password accepted: remember who is half signed in (a fresh session) until their code arrives."""
    session.clear()
    session["pending_2fa"] = {"user_id": user.id, "next": next_url, "at": int(time.time())}


@bp.route("/login/code", methods=["GET", "POST"])
@public
def login_code():
    pending = session.get("pending_2fa")
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        session.pop("pending_2fa", None)
        flash("Sign in again: the code was not entered in time.", "info")
        return redirect(url_for("auth.login"))
    user = db.session.get(User, pending["user_id"])
    if user is None or not user.active:
        session.clear()
        return redirect(url_for("auth.login"))
    form = CodeForm()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            services.check_throttle(user.email, max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                                    lockout_minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        except services.TooManyAttempts as err:
            problem, status = f"Too many attempts. Sign in again in {err.minutes} minutes.", 429
        else:
            ok = totp.verify_second_factor(user, form.code.data, request.remote_addr or "")
            db.session.commit()
            if ok:
                session.clear()  # a new session at sign-in
                login_user(user)
                session["last_seen"] = int(time.time())
                session["session_generation"] = user.session_generation
                return redirect(pending["next"])
            problem, status = "The code is not right. Enter the code your app shows now, or a recovery code.", 401
        log.warning("second factor refused", extra={"reason": problem, "email": user.email})
    elif form.errors:
        status = 422
    return render_template("auth/two_factor_code.html", form=form, problem=problem), status


@bp.route("/account/two-factor", methods=["GET", "POST"])
@roles_required(*Role)
def enrol():
    if totp.is_enrolled(current_user):
        return render_template("auth/two_factor.html", form=DisableForm(),
                               codes_left=totp.recovery_codes_left(current_user),
                               required=totp.is_required_for(current_user))
    secret = session.setdefault("totp_pending_secret", totp.new_secret())
    form = EnrolForm()
    problem = None
    if form.validate_on_submit():
        try:
            codes = totp.enrol_totp(current_user, secret, form.code.data)
        except PortalError as err:
            db.session.rollback()
            problem = err.message
        else:
            db.session.commit()
            session.pop("totp_pending_secret", None)
            session["recovery_codes"] = codes
            return redirect(url_for("totp.recovery_codes"), 303)
    uri = totp.provisioning_uri(current_user, secret)
    return render_template("auth/two_factor_enrol.html", form=form, problem=problem, secret=secret,
                           qr=totp.qr_data_uri(uri)), 422 if (form.errors or problem) else 200


@bp.get("/account/two-factor/recovery-codes")
@roles_required(*Role)
def recovery_codes():
    # Shown once: the codes live in the session only until this page has been rendered.
    return render_template("auth/recovery_codes.html", codes=session.pop("recovery_codes", None))


@bp.post("/account/two-factor/disable")
@roles_required(*Role)
def disable():
    form = DisableForm()
    problem, status = None, 422
    if form.validate_on_submit():
        try:
            totp.disable_totp(current_user, form.password.data)
        except PortalError as err:
            db.session.rollback()
            problem, status = err.message, err.status
        else:
            db.session.commit()
            flash("Two-factor sign-in is off.", "success")
            return redirect(url_for("totp.enrol"), 303)
    return render_template("auth/two_factor.html", form=form, problem=problem,
                           codes_left=totp.recovery_codes_left(current_user),
                           required=totp.is_required_for(current_user)), status


@bp.route("/admin/two-factor", methods=["GET", "POST"])
@roles_required(Role.SECAS, admin=True)
def policy():
    form = PolicyForm()
    if request.method == "GET":
        form.roles.data = sorted(totp.required_roles())
    if form.validate_on_submit():
        totp.set_required_roles(current_user, {Role(r) for r in form.roles.data})
        db.session.commit()
        flash("The two-factor sign-in setting is saved.", "success")
        return redirect(url_for("totp.policy"), 303)
    return render_template("auth/two_factor_policy.html", form=form), 422 if form.errors else 200
