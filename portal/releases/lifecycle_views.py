"""SECAS creates a release and moves a modification between releases; everyone reads the modification register."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import Invalid, Role, roles_required
from ..extensions import db, htmx
from ..ids import bounded_int
from ..queries import ReleaseFacts
from ..workflow import refusal, require, require_portal
from . import lifecycle, register
from .lifecycle_forms import MoveModificationForm, NewReleaseForm
from .models import Release
from .services import release_or_404

bp = Blueprint("lifecycle", __name__)

FIELD_ANCHORS = {"planned_go_live": "planned_go_live-day"}


def _problem(form, err: Invalid, default: str) -> list[dict]:
    """The service's refusal, on its field and in the error summary; nothing it did is kept."""
    db.session.rollback()
    field = getattr(form, err.field or default, None)
    if field is not None:
        field.errors = [*field.errors, err.message]
    name = err.field or default
    return [{"text": err.message, "href": f"#{FIELD_ANCHORS.get(name, name)}"}]


@bp.route("/new-release", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def new_release():
    require_portal("create_release", current_user)
    form = NewReleaseForm()
    earlier = db.session.scalars(sa.select(Release).order_by(Release.planned_go_live.desc(), Release.id.desc())).all()
    form.template_id.choices = [(0, "A blank RID")] + [(r.id, r.name) for r in earlier]
    problem = None
    if form.validate_on_submit():
        template = db.session.get(Release, form.template_id.data) if form.template_id.data else None
        try:
            release = lifecycle.create_release(current_user, code=form.code.data, name=form.name.data,
                                               planned_go_live=form.planned_go_live.data,
                                               sec_version=form.sec_version.data, template=template)
        except Invalid as err:
            problem = _problem(form, err, "code")
        else:
            db.session.commit()
            flash(f"{release.name} is created, with RID version 0.1 in the Draft stage.", "success")
            return redirect(url_for("releases.show", code=release.code), code=303)
    status = 422 if form.errors or problem else 200
    return render_template("releases/new_release.html", form=form, problem=problem), status


@bp.route("/releases/<code>/scope/<int:row_id>/move", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def move_modification(code: str, row_id: int):
    release = release_or_404(code)
    entry = next((e for e in release.scope if e.id == row_id), None) or abort(404)
    if request.method == "POST":
        require("move_modification", release, current_user, entry)  # refused before any validation
    form = MoveModificationForm()
    others = db.session.scalars(sa.select(Release).where(Release.id != release.id)
                                .order_by(Release.planned_go_live, Release.id)).all()
    form.target_id.choices = [(0, "Choose a release")] + [(r.id, r.name) for r in others]
    problem = None
    if form.validate_on_submit():
        target = db.session.get(Release, form.target_id.data) if form.target_id.data else None
        try:
            lifecycle.move_modification(current_user, entry, release, target, form.change_note.data or "")
        except Invalid as err:
            problem = _problem(form, err, "target_id")
        else:
            db.session.commit()
            flash(f"{entry.mp.reference} has moved to {target.name}.", "success")
            return redirect(url_for("releases.show", code=code), code=303)
    status = 422 if form.errors or problem else 200
    return render_template("releases/move_modification.html", release=release, entry=entry, form=form,
                           problem=problem, baselined=release.is_baselined,
                           refused=refusal("move_modification", ReleaseFacts(release), current_user, entry)), status


@bp.get("/modifications")
@roles_required(*Role)
def modifications():
    page = max(request.args.get("page", 1, type=bounded_int), 1)
    rows, more = register.mp_register(current_user, page)
    links = {"newer": url_for("lifecycle.modifications", page=page - 1) if page > 1 else None,
             "older": url_for("lifecycle.modifications", page=page + 1) if more else None}
    template = "releases/_modifications.html" if htmx else "releases/modifications.html"
    return render_template(template, register=rows, links=links)
