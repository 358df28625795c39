"""SECAS uploads a RID document, reviews what was read beside the lines it came from, and confirms. Until the
confirmation nothing is saved: the upload is kept in a staging folder under the SHA-256 of its bytes, and confirming
reads the file again after checking that its bytes still have that digest."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import Role, roles_required
from ..extensions import db
from ..releases.models import Release, Stage
from ..workflow import require_portal
from .cli import known_groups
from .extract import LIMITS, NotARid
from .forms import ConfirmImportForm, UploadRidForm
from .reader import read_rid
from .services import import_new_release, import_problem, import_rid_version, new_code

bp = Blueprint("rid_import", __name__)
DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _staging() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / "rid-import"


def _stage(data: bytes, meta: dict) -> str:
    digest = hashlib.sha256(data).hexdigest()
    folder = _staging()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{digest}.bin").write_bytes(data)
    (folder / f"{digest}.json").write_text(json.dumps(meta))
    return digest


def _staged(digest: str) -> tuple[bytes, dict]:
    """The staged upload, if it is there, is this user's and still has this digest; else 404."""
    if not DIGEST.match(digest):
        abort(404)
    folder = _staging()
    try:
        data = (folder / f"{digest}.bin").read_bytes()
        meta = json.loads((folder / f"{digest}.json").read_text())
    except (OSError, ValueError):
        abort(404)
    if hashlib.sha256(data).hexdigest() != digest or meta.get("user_id") != current_user.id:
        abort(404)
    return data, meta


def _discard(digest: str) -> None:
    for suffix in (".bin", ".json"):
        (_staging() / f"{digest}{suffix}").unlink(missing_ok=True)


def _target(meta: dict) -> Release | None:
    if not meta.get("target"):
        return None
    return db.first_or_404(sa.select(Release).where(Release.code == meta["target"]))


@bp.route("/import-rid", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def upload():
    require_portal("import_rid", current_user)
    form = UploadRidForm()
    drafts = db.session.scalars(sa.select(Release).where(Release.stage == Stage.DRAFT)
                                .order_by(Release.planned_go_live.desc(), Release.id.desc())).all()
    form.target.choices = [("", "A new release")] + [(r.code, f"A new RID version of {r.name}") for r in drafts]
    problem = None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.stream.read(LIMITS["bytes"] + 1)  # never more in memory than the limit
        try:
            read_rid(upload.filename or "", data, known_groups())
        except NotARid as err:
            form.file.errors = [*form.file.errors, str(err)]
            problem = [{"text": str(err), "href": "#file"}]
        else:
            digest = _stage(data, {"filename": Path(upload.filename or "rid").name[:200], "user_id": current_user.id,
                                   "target": form.target.data or "", "code": form.code.data or ""})
            return redirect(url_for("rid_import.review", digest=digest), code=303)
    status = 422 if form.errors or problem else 200
    return render_template("rid_import/upload.html", form=form, problem=problem), status


@bp.route("/import-rid/<digest>", methods=["GET"])
@roles_required(Role.SECAS)
def review(digest: str):
    require_portal("import_rid", current_user)
    data, meta = _staged(digest)
    reading = read_rid(meta["filename"], data, known_groups())
    target = _target(meta)
    return render_template("rid_import/review.html", reading=reading, meta=meta, target=target, digest=digest,
                           code=new_code(reading, meta["code"]), problem=import_problem(reading, target, meta["code"]),
                           form=ConfirmImportForm())


@bp.route("/import-rid/<digest>/confirm", methods=["POST"])
@roles_required(Role.SECAS)
def confirm(digest: str):
    require_portal("import_rid", current_user)
    data, meta = _staged(digest)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    reading = read_rid(meta["filename"], data, known_groups())
    release = _target(meta)
    if release is not None:
        version = import_rid_version(current_user, release, reading, filename=meta["filename"])
        message = f"RID version {version.number} of {release.name} is imported from {meta['filename']}."
    else:
        release = import_new_release(current_user, reading, code=meta["code"] or None, filename=meta["filename"])
        message = f"{release.name} is created from {meta['filename']}, in the Draft stage."
    db.session.commit()
    _discard(digest)
    flash(message, "success")
    return redirect(url_for("releases.show", code=release.code), code=303)
