"""The audit trail pages: a release's trail for every signed-in role, the portal-wide trail for admins."""
from flask import Blueprint, render_template, request, url_for

from ..access import Role, roles_required
from ..extensions import htmx
from ..ids import bounded_int
from ..releases.models import Release
from ..releases.services import release_or_404
from . import models  # noqa: F401  (create_app must see the audit tables)
from .forms import TrailFilterForm
from .services import chain_status
from .trail import TrailFilters, filter_choices, trail_page

bp = Blueprint("audit", __name__)

_CURSORS = ("before", "after")


@bp.get("/audit")
@roles_required(Role.SECAS, admin=True)
def portal_trail():
    return _render_trail(None)


@bp.get("/releases/<code>/audit")
@roles_required(*Role)
def release_trail(code: str):
    return _render_trail(release_or_404(code))


@bp.get("/releases/<code>/audit/chain")
@roles_required(*Role)
def release_chain_status(code: str):
    """The chain-status fragment, loaded lazily by the release page (verifying takes a moment)."""
    return render_template("audit/_chain_status.html", release=release_or_404(code), chain=chain_status())


def _render_trail(release: Release | None):
    form = TrailFilterForm(request.args)
    filtering = any(k not in _CURSORS for k in request.args)
    if filtering or not htmx:  # the form's choices: to show it, or to check a filter (htmx paging shows no form)
        for name, choices in filter_choices(release.id if release else None).items():
            form[name].choices = choices
    if filtering and not form.validate():
        return render_template("audit/trail.html", release=release, form=form, page=None,
                               chain=chain_status()), 422
    filters = TrailFilters(
        release_id=release.id if release else None,
        person_id=int(form.person.data) if form.person.data else None,
        role=form.role.data or None, action=form.kind.data or None,
        date_from=form.date_from.data, date_to=form.date_to.data)
    page = trail_page(filters, before=request.args.get("before", type=bounded_int),
                      after=request.args.get("after", type=bounded_int))
    # Paging links keep the filters.
    kept = {k: v for k, v in request.args.to_dict(flat=False).items() if k not in _CURSORS}
    endpoint = request.endpoint
    links = {
        "newer": url_for(endpoint, **kept, after=page.newer_than, **_code(release)) if page.newer_than else None,
        "older": url_for(endpoint, **kept, before=page.older_than, **_code(release)) if page.older_than else None,
    }
    if htmx:
        return render_template("audit/_events.html", release=release, page=page, links=links)
    return render_template("audit/trail.html", release=release, form=form, page=page, links=links,
                           chain=chain_status())


def _code(release: Release | None) -> dict:
    return {"code": release.code} if release else {}
