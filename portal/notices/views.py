"""Public: the published go-live notices, one notice, the Atom feed. SECAS: edit the draft, then publish it."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import Invalid, Role, public, roles_required
from ..extensions import db
from ..queries import ReleaseFacts
from ..releases.models import Release
from ..releases.services import release_or_404
from ..timeutil import uk_date
from ..workflow import offers, require
from . import services
from .atom import notices_feed
from .forms import NoticeForm, PublishNoticeForm
from .models import Notice

bp = Blueprint("notices", __name__)


def _body(notice: Notice) -> str:
    """The notice's title-less body as HTML: the page and the feed show the same."""
    return render_template("notices/_notice_body.html", notice=notice)


@bp.get("/notices")
@public
def index():
    return render_template("notices/index.html", notices=services.published_notices())


@bp.get("/notices/<code>")
@public
def show(code: str):
    return render_template("notices/show.html", notice=services.published_notice_or_404(code))


@bp.get("/notices.atom")
@public
def feed():
    body = notices_feed(services.published_notices(), _body)
    return Response(body, mimetype="application/atom+xml", headers={"Cache-Control": "public, max-age=300"})


# --- SECAS: the draft -------------------------------------------------------------------------------

def _notice_or_404(release: Release) -> Notice:
    notice = services.notice_of(release)
    if notice is None:
        abort(404, "This release has no go-live notice: one is drafted when the release goes live.")
    return notice


@bp.route("/releases/<code>/notice", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def manage(code: str):
    release = release_or_404(code)
    notice = _notice_or_404(release)
    form = NoticeForm(obj=notice)
    problem = None
    if request.method == "POST":
        require("edit_notice", release, current_user)  # a published notice is refused before its input is read
        if form.validate_on_submit():
            try:
                services.edit_notice(current_user, release, title=form.title.data, summary=form.summary.data)
            except Invalid as err:
                db.session.rollback()
                problem = [{"text": err.message, "href": f"#{err.field or 'title'}"}]
            else:
                db.session.commit()
                flash("The draft notice is saved.", "success")
                return redirect(url_for("notices.manage", code=code), 303)
    status = 422 if form.errors or problem else 200
    return render_template("notices/manage.html", release=release, notice=notice, form=form, problem=problem,
                           publish_form=PublishNoticeForm(), available=offers(ReleaseFacts(release), current_user),
                           body=_body(notice)), status


@bp.post("/releases/<code>/notice/publish")
@roles_required(Role.SECAS)
def publish(code: str):
    release = release_or_404(code)
    notice = _notice_or_404(release)
    require("publish_notice", release, current_user)
    if not PublishNoticeForm().validate_on_submit():
        abort(400)
    if request.form.get("confirmed") != "yes":  # publishing cannot be undone: say what will happen first
        return render_template(
            "decisions/confirm.html", release=release, heading="Publish the go-live notice?",
            rows=[("Title", notice.title), ("In effect from", uk_date(notice.effective_on))],
            listed=[f"{m['reference']}: {m['title']}" for m in notice.modifications],
            listed_heading="Modifications implemented", listed_empty="None listed.", fields=[],
            warning="Publishing cannot be undone: the notice becomes public, appears in the notices feed, and can "
                    "no longer be changed.", action=url_for("notices.publish", code=code),
            button="Publish the notice", warn=False, back=url_for("notices.manage", code=code))
    services.publish_notice(current_user, release)
    db.session.commit()
    flash("The go-live notice is published.", "success")
    return redirect(url_for("notices.show", code=code), 303)
