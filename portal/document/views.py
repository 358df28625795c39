"""The RID as documents (PDF, DOCX) and the comparison of two versions: every signed-in role may read them."""
from __future__ import annotations

import re

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy.orm import selectinload

from ..access import Role, roles_required
from ..releases.models import Release, RidVersion
from ..releases.services import release_or_404
from .compare import compare_snapshots
from .forms import CompareForm
from .render import live_document, render_docx, render_pdf, rid_day, version_document, write_tagged_pdf
from .services import stored_document

bp = Blueprint("document", __name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _download(body: bytes, mimetype: str, filename: str, sha256: str | None = None) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
               "X-Content-Type-Options": "nosniff"}
    if sha256:
        headers["Digest"] = f"sha-256={sha256}"
    return Response(body, mimetype=mimetype, headers=headers)


def _release(code: str) -> Release:
    return release_or_404(code, selectinload(Release.rid_versions))


def _version_or_404(release: Release, major: int, minor: int) -> RidVersion:
    version = next((v for v in release.rid_versions if (v.major, v.minor) == (major, minor)), None)
    if version is None or not version.snapshot:
        abort(404)
    return version


@bp.get("/releases/<code>/rid/<int:major>.<int:minor>.pdf")
@roles_required(*Role)
def version_pdf(code: str, major: int, minor: int):
    """A version's PDF: the stored bytes when it was baselined (the document the Panel baselined), else rendered."""
    release = _release(code)
    version = _version_or_404(release, major, minor)
    doc = version_document(release, version)
    stored = stored_document(version)
    if stored is not None:
        return _download(stored.content, PDF, f"{doc.filename_stem}.pdf", stored.sha256)
    return _download(render_pdf(doc), PDF, f"{doc.filename_stem}.pdf")


@bp.get("/releases/<code>/rid/<int:major>.<int:minor>.docx")
@roles_required(*Role)
def version_docx(code: str, major: int, minor: int):
    release = _release(code)
    doc = version_document(release, _version_or_404(release, major, minor))
    return _download(render_docx(doc), DOCX, f"{doc.filename_stem}.docx")


@bp.get("/releases/<code>/rid.pdf")
@roles_required(*Role)
def live_pdf(code: str):
    """The RID as it stands now, after the last version issued."""
    doc = live_document(_release(code))
    return _download(render_pdf(doc), PDF, f"{doc.filename_stem}.pdf")


@bp.get("/releases/<code>/rid.docx")
@roles_required(*Role)
def live_docx(code: str):
    doc = live_document(_release(code))
    return _download(render_docx(doc), DOCX, f"{doc.filename_stem}.docx")


# --- Comparing two versions ------------------------------------------------------------------------

VERSION = re.compile(r"^(\d{1,4})\.(\d{1,4})$")


def _comparison(code: str):
    """(release, form, from version, to version, sections, problem, status) for the compare page and PDF."""
    release = _release(code)
    versions = [v for v in release.rid_versions if v.snapshot]
    form = CompareForm(formdata=request.args if request.args else None)
    choices = [(v.number, f"{v.number} ({'baseline, ' if v.is_baseline else ''}issued {v.issued_on:%-d %b %Y})")
               for v in versions]
    form["from"].choices = form["to"].choices = choices
    if len(versions) < 2:
        return release, form, None, None, None, None, 200
    if not request.args:
        form["from"].data, form["to"].data = versions[-2].number, versions[-1].number
    wanted = {name: (request.args.get(name) or "").strip() or form[name].data for name in ("from", "to")}
    by_number = {v.number: v for v in versions}
    problem = []
    for name, label in (("from", "compare from"), ("to", "compare with")):
        value = wanted[name]
        if not value:
            problem.append({"text": f"Choose the RID version to {label}", "href": f"#{name}"})
        elif value not in by_number:
            shown = value[:20] if VERSION.match(value) else "that"
            problem.append({"text": f"There is no RID version {shown} of the {release.name} to {label}: choose "
                                    f"one of the versions listed", "href": f"#{name}"})
    if problem:
        return release, form, None, None, None, problem, 404
    old, new = by_number[wanted["from"]], by_number[wanted["to"]]
    if old.id == new.id:
        problem = [{"text": "Choose two different RID versions to compare", "href": "#to"}]
    elif (old.major, old.minor) > (new.major, new.minor):
        problem = [{"text": f"Version {old.number} comes after version {new.number}: compare the earlier version "
                            f"with the later one", "href": "#from"}]
    if problem:
        return release, form, old, new, None, problem, 422
    return release, form, old, new, compare_snapshots(old.snapshot, new.snapshot), None, 200


def _mark_fields(form: CompareForm, problem: list[dict] | None) -> None:
    """Each message beside the choice it is about, as in the error summary."""
    for item in problem or []:
        field = form[item["href"].removeprefix("#")]
        field.errors = [*field.errors, item["text"]]


@bp.get("/releases/<code>/rid/compare")
@roles_required(*Role)
def compare(code: str):
    release, form, old, new, sections, problem, status = _comparison(code)
    _mark_fields(form, problem)
    return render_template("document/compare.html", release=release, form=form, old=old, new=new,
                           sections=sections, problem=problem), status


@bp.get("/releases/<code>/rid/compare.pdf")
@roles_required(*Role)
def compare_pdf(code: str):
    release, form, old, new, sections, problem, status = _comparison(code)
    if sections is None:
        # Not a comparison: the page says what was wrong, with the form to choose again.
        _mark_fields(form, problem)
        return render_template("document/compare.html", release=release, form=form, old=old, new=new,
                               sections=None, problem=problem), (status if status != 200 else 404)
    html = render_template("document/compare_pdf.html", release=release, old=old, new=new, sections=sections,
                           day=rid_day)
    body = write_tagged_pdf(html)
    return _download(body, PDF, f"rid-{release.code}-compare-v{old.number}-v{new.number}.pdf")
