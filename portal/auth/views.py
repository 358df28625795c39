"""Sign in and out, passwords (first sign-in, change, forgotten), invitations, and the SECAS admin's user pages."""
from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ..access import Invalid, PortalError, Role, public, roles_required
from ..extensions import db
from ..signatures import WrongPassword, check_signer
from ..timeutil import uk_time
from . import links, services, totp
from .forms import (EditUserForm, ForgottenPasswordForm, LoginForm, NewPasswordForm, NewUserForm,
                    ResendInvitationForm, RevokeInvitationForm, SetPasswordForm, SignOutForm)
from .models import TokenPurpose, User
from .totp_forms import ResetForm
from .totp_views import start_second_factor

bp = Blueprint("auth", __name__)
log = logging.getLogger("portal.auth")


def _safe_next(target: str | None) -> str:
    """Only the portal's own paths: never another host, never a scheme."""
    if not target:
        return url_for("releases.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("releases.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("releases.index"))
    form = LoginForm()
    problem = None
    status = 200
    if form.validate_on_submit():
        try:
            user, needs_code = services.authenticate(
                form.email.data, form.password.data, request.remote_addr or "",
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                lockout_minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        except services.TooManyAttempts as err:
            db.session.rollback()
            problem = (f"Too many attempts. Try again in {err.minutes} minute"
                       f"{'' if err.minutes == 1 else 's'}.")
            status = 429
            log.warning("login refused", extra={"reason": "too many attempts", "email": form.email.data[:254]})
        else:
            db.session.commit()
            if user and needs_code:
                start_second_factor(user, _safe_next(request.args.get("next")))
                return redirect(url_for("totp.login_code"))
            if user:
                session.clear()  # a new session at login
                login_user(user)
                session["last_seen"] = int(time.time())
                session["session_generation"] = user.session_generation
                return redirect(_safe_next(request.args.get("next")))
            problem = "Enter a correct email address and password."
            status = 401
            log.warning("login failed", extra={"reason": "wrong email, password or inactive account",
                                               "email": form.email.data[:254]})
    elif form.errors:
        status = 422
    return render_template("auth/login.html", form=form, problem=problem), status


@bp.post("/logout")
@roles_required(*Role)
def logout():
    services.record_logout(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"), 303)


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*Role)
def set_password():
    form = SetPasswordForm()
    first = current_user.must_change_password  # the first sign-in: the one-time password was just typed
    problem = None
    if form.validate_on_submit():
        try:
            if not first:  # throttled and audited like a signature's password, checked before anything is written
                check_signer(current_user, form.current_password.data or "", "Enter your current password")
            services.set_password(current_user, current_user, form.password.data)
            generation = current_user.session_generation
        except PortalError as err:
            db.session.rollback()
            problem = err
        else:
            db.session.commit()
            session["session_generation"] = generation  # this session goes on; every other one has ended
            flash("Your new password is saved.", "success")
            return redirect(url_for("releases.index"), 303)
    if problem is not None:
        field = form.current_password if isinstance(problem, WrongPassword) else form.password
        field.errors = [*field.errors, problem.message]
    return render_template("auth/set_password.html", form=form, first=first), \
        422 if (form.errors or problem) else 200


@bp.get("/admin/users")
@roles_required(Role.SECAS, admin=True)
def users():
    people = db.session.scalars(sa.select(User).order_by(User.role, User.name)).all()
    return render_template("auth/users.html", users=people, invitations=links.invitation_states(people))


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(Role.SECAS, admin=True)
def new_user():
    form = NewUserForm()
    problem = None
    if form.validate_on_submit():
        try:
            user = links.invite_user(
                current_user, email=form.email.data, name=form.name.data,
                organisation=form.organisation.data, role=Role(form.role.data),
                is_admin=form.is_admin.data, is_chair=form.is_chair.data,
                alternate_only=form.alternate_only.data)
            state = links.invitation_state(user)
        except PortalError as err:
            db.session.rollback()
            problem = err.message
        else:
            db.session.commit()
            flash(f"We have emailed an invitation to {user.email}. {user.name} chooses their password from its "
                  f"link, which works until {uk_time(state.expires_at)}.", "success")
            return redirect(url_for("auth.users"), 303)
    status = 422 if (form.errors or problem) else 200
    return render_template("auth/user_form.html", form=form, problem=problem, user=None), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.SECAS, admin=True)
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = EditUserForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = user.role.value
    problem = None
    if form.validate_on_submit():
        try:
            services.update_user(current_user, user, name=form.name.data,
                                 organisation=form.organisation.data, role=Role(form.role.data),
                                 is_admin=form.is_admin.data, is_chair=form.is_chair.data,
                                 alternate_only=form.alternate_only.data, active=form.active.data)
        except PortalError as err:
            db.session.rollback()
            problem = err.message
        else:
            db.session.commit()
            flash(f"The account of {user.name} is saved.", "success")
            return redirect(url_for("auth.users"), 303)
    status = 422 if (form.errors or problem) else 200
    return _user_page(user, form, problem), status


@bp.post("/admin/users/<int:user_id>/sign-out")
@roles_required(Role.SECAS, admin=True)
def sign_out_everywhere(user_id: int):
    """From the admin's page for a user: end every session of theirs (a lost laptop, a copied cookie)."""
    user = db.get_or_404(User, user_id)
    form = SignOutForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.edit_user", user_id=user.id), 303)
    services.sign_out_everywhere(current_user, user)
    name = user.name
    if user.id == current_user.id:
        session["session_generation"] = user.session_generation
    db.session.commit()
    flash(f"Every session of {name} is ended: they must sign in again.", "success")
    return redirect(url_for("auth.edit_user", user_id=user_id), 303)


@bp.post("/admin/users/<int:user_id>/two-factor/reset")
@roles_required(Role.SECAS, admin=True)
def reset_two_factor(user_id: int):
    """From the admin's page for a user who lost their authenticator and recovery codes."""
    user = db.get_or_404(User, user_id)
    reset_form = ResetForm()
    problem, problem_href = None, "#password"
    if reset_form.validate_on_submit():
        try:
            totp.reset_totp(current_user, user, reset_form.password.data)
        except PortalError as err:
            db.session.rollback()
            problem = err.message
            problem_href = "#password" if isinstance(err, Invalid) else "#two-factor"
        else:
            db.session.commit()
            flash(f"The two-factor sign-in of {user.name} is reset, and they have been told by email. They sign in "
                  "with their password, and set it up again if their role must use it.", "success")
            return redirect(url_for("auth.edit_user", user_id=user.id), 303)
    form = EditUserForm(obj=user)
    form.role.data = user.role.value
    return _user_page(user, form, problem, reset_form, problem_href), 422


@bp.post("/admin/users/<int:user_id>/invitation/resend")
@roles_required(Role.SECAS, admin=True)
def resend_invitation(user_id: int):
    """A new invitation link by email; the old link stops working."""
    user = db.get_or_404(User, user_id)
    form = ResendInvitationForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.edit_user", user_id=user.id), 303)
    links.send_invitation(current_user, user, resend=True)
    state = links.invitation_state(user)
    db.session.commit()
    flash(f"We have emailed a new invitation to {user.email}. It works until {uk_time(state.expires_at)}; "
          "the earlier link no longer works.", "success")
    return redirect(url_for("auth.edit_user", user_id=user.id), 303)


@bp.post("/admin/users/<int:user_id>/invitation/revoke")
@roles_required(Role.SECAS, admin=True)
def revoke_invitation(user_id: int):
    user = db.get_or_404(User, user_id)
    form = RevokeInvitationForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.edit_user", user_id=user.id), 303)
    links.revoke_invitation(current_user, user)
    db.session.commit()
    flash(f"The invitation of {user.name} is revoked: its link no longer works.", "success")
    return redirect(url_for("auth.edit_user", user_id=user.id), 303)


# --- Links from emails: anyone holding the link, signed in or not ------------------------------------------

_LINK_PROBLEMS = {
    links.UNKNOWN: (404, "This link is not valid",
                    "Check that you copied the whole link from the email. If it still does not work, {ask}."),
    links.EXPIRED: (410, "This link has expired", "Links work for a limited time, for your security. {ask}."),
    links.USED: (410, "This link has already been used",
                 "Each link works once. If you chose a password with it, sign in. Otherwise {ask}."),
    links.REVOKED: (410, "This link no longer works",
                    "A newer link was sent, or the link was withdrawn. Use the newest email, or {ask}."),
}
_ASK = {TokenPurpose.INVITATION: "ask the SEC Administrator to send you a new invitation",
        TokenPurpose.PASSWORD_RESET: "ask for a new link from “Forgotten your password?” on the sign-in page"}


def _link_problem(err: links.LinkNotUsable):
    status, title, message = _LINK_PROBLEMS[err.reason]
    ask = _ASK[err.purpose or TokenPurpose.PASSWORD_RESET]
    message = message.format(ask=ask)
    return render_template("auth/link_problem.html", title=title, message=message[0].upper() + message[1:],
                           purpose=err.purpose), status


def _choose_password(token: str, purpose: TokenPurpose, service, done: str):
    """The page behind an emailed link: choose a password, then sign in with it."""
    try:
        account = links.usable_token(token, purpose).user
    except links.LinkNotUsable as err:
        return _link_problem(err)
    form = NewPasswordForm()
    problem = None
    if form.validate_on_submit():
        try:
            service(token, form.password.data)
        except links.LinkNotUsable as err:  # used in another tab a moment ago
            db.session.rollback()
            return _link_problem(err)
        except PortalError as err:
            db.session.rollback()
            problem = err.message
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash(done, "success")
            return redirect(url_for("auth.login"), 303)
    if problem:
        form.password.errors = [*form.password.errors, problem]
    template = "auth/accept_invitation.html" if purpose == TokenPurpose.INVITATION else "auth/reset_password.html"
    return render_template(template, form=form, account=account), 422 if form.errors else 200


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str):
    return _choose_password(token, TokenPurpose.INVITATION, links.accept_invitation,
                            "Your password is saved. Sign in with your email address and new password.")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    return _choose_password(token, TokenPurpose.PASSWORD_RESET, links.reset_password,
                            "Your password is reset, and every session of yours is signed out. Sign in with your "
                            "new password.")


@bp.route("/password/forgotten", methods=["GET", "POST"])
@public
def forgotten_password():
    form = ForgottenPasswordForm()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            links.request_password_reset(form.email.data, request.remote_addr or "")
        except links.TooManyRequests as err:
            db.session.rollback()
            problem = (f"Too many requests for a link. Try again in {err.minutes} minute"
                       f"{'' if err.minutes == 1 else 's'}.")
            status = 429
            log.warning("password reset refused", extra={"reason": "too many requests"})
        else:
            db.session.commit()
            return redirect(url_for("auth.reset_link_sent"), 303)
    elif form.errors:
        status = 422
    return render_template("auth/forgotten_password.html", form=form, problem=problem), status


@bp.get("/password/forgotten/sent")
@public
def reset_link_sent():
    """The same answer whether or not the address has an account."""
    return render_template("auth/reset_link_sent.html",
                           minutes=current_app.config.get("PASSWORD_RESET_EXPIRY_MINUTES", 60))


def _user_page(user: User, form, problem: str | None, reset_form: ResetForm | None = None,
               problem_href: str = "#name") -> str:
    return render_template("auth/user_form.html", form=form, problem=problem, problem_href=problem_href, user=user,
                           two_factor_on=totp.is_enrolled(user), reset_form=reset_form or ResetForm(),
                           invitation=links.invitation_state(user))
