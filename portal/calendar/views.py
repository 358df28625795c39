"""The calendar page (make or revoke your private link) and the feeds that calendar apps fetch with it."""
import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from ..access import Role, public, roles_required
from ..extensions import db
from ..releases.models import Milestone, Release
from ..releases.services import release_or_404
from ..timeutil import utcnow
from ..urls import base_url
from . import ical, month
from .forms import CreateLinkForm, RevokeLinkForm
from .services import create_calendar_link, live_link, revoke_calendar_link, user_for_token

bp = Blueprint("calendar", __name__)

_NEW_TOKEN = "calendar_new_token"


@bp.get("/calendar")
@roles_required(*Role)
def index():
    # A new token is shown once, straight after it was made; only its hash is kept.
    token = session.pop(_NEW_TOKEN, None)
    releases = db.session.scalars(sa.select(Release).order_by(Release.planned_go_live.desc())).all()
    return render_template("calendar/index.html", link=live_link(current_user), token=token, releases=releases,
                           create_form=CreateLinkForm(), revoke_form=RevokeLinkForm())


@bp.post("/calendar/link")
@roles_required(*Role)
def create_link():
    if not CreateLinkForm().validate_on_submit():
        abort(400)
    token = create_calendar_link(current_user)
    db.session.commit()
    session[_NEW_TOKEN] = token
    return redirect(url_for("calendar.index"), 303)


@bp.post("/calendar/link/revoke")
@roles_required(*Role)
def revoke_link():
    if not RevokeLinkForm().validate_on_submit():
        abort(400)
    revoke_calendar_link(current_user)
    db.session.commit()
    flash("Your calendar link is revoked. Calendars using it will stop updating.", "success")
    return redirect(url_for("calendar.index"), 303)


@bp.get("/calendar/<token>.ics")
@public  # calendar apps cannot sign in: the private token is the credential
def feed(token: str):
    return _feed(token, None)


@bp.get("/calendar/<token>/<code>.ics")
@public  # as above, for one release
def release_feed(token: str, code: str):
    return _feed(token, code)


def _feed(token: str, code: str | None) -> Response:
    if user_for_token(token) is None:
        abort(404)
    query = sa.select(Milestone, Release).join(Release, Release.id == Milestone.release_id)
    name = "SEC releases"
    if code is not None:
        release = release_or_404(code)
        query, name = query.where(Release.id == release.id), f"SEC release: {release.name}"
    base = base_url()
    stamp = utcnow()
    events = [ical.milestone_event(m, r, stamp, f"{base}{url_for('releases.show', code=r.code)}")
              for m, r in db.session.execute(query.order_by(Milestone.due_on, Milestone.id))]
    body = ical.calendar(name, events)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'inline; filename="{code or "sec-releases"}.ics"',
        "Cache-Control": "private, max-age=300",
    })


@bp.get("/calendar/month")
@roles_required(*Role)
def month_view():
    """Every release's milestones on a month grid; the previous and next months are plain links."""
    first = month.parse_month(request.args.get("month"))
    return render_template("calendar/month.html", first=first, weeks=month.month_grid(first),
                           previous=month.shift(first, -1), following=month.shift(first, 1))
