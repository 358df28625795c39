"""Sign-in gates: a user who must set their own password or set up two-factor sign-in does that first."""
from __future__ import annotations

from flask import Flask, flash, g, redirect, request, url_for
from flask_login import current_user

from ..extensions import htmx
from . import totp
from .models import User

# Open to anyone signed in, whatever step they still owe: the gate does not even look (no queries).
_ALWAYS_OPEN = {"auth.logout", "static", "ops.healthz"}
# The pages each gate leaves open: its own, and the password page before two-factor set-up.
_OPEN_AT = {"auth.set_password": {"auth.set_password"},
            "totp.enrol": {"totp.enrol", "totp.recovery_codes", "auth.set_password"}}


def first_step(user: User) -> str | None:
    """The endpoint of the page a signed-in user must complete before any other, or None."""
    if user.must_change_password:
        return "auth.set_password"
    known = getattr(request, "portal_two_factor", None)  # read with the signed-in user (portal.security.load_user)
    if known is not None and known[0] == user.id:
        required, enrolled = known[1:]
    else:
        required = totp.is_required_for(user)
        enrolled = required and totp.is_enrolled(user)
    return "totp.enrol" if required and not enrolled else None


def init_app(app: Flask) -> None:
    @app.before_request
    def require_first_step():
        if not current_user.is_authenticated or request.endpoint in _ALWAYS_OPEN:
            return None
        g.sign_in_step = step = first_step(current_user)
        if step is None or request.endpoint in _OPEN_AT[step]:
            return None
        if step == "totp.enrol":
            flash("Your role must use two-factor sign-in. Set it up to continue.", "info")
        if htmx:  # htmx would follow a redirect and swap the whole gate page into the fragment
            return "", 204, {"HX-Redirect": url_for(step)}
        return redirect(url_for(step))

    @app.context_processor
    def sign_in_step():
        # A gate's page loads nothing by htmx: the gate would send it back to the same page, again and again.
        return {"sign_in_step": g.get("sign_in_step")}
