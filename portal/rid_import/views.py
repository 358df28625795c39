"""SECAS uploads a RID document, reviews what was read beside the lines it came from, and confirms. Until the
confirmation nothing is saved: the upload is kept in the database (StagedRid, so any host may serve the next step) under the SHA-256
of its bytes, and confirming reads the file again after checking that its bytes still have that digest."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import Role, roles_required
from ..extensions import db
from ..releases.models import Release, Stage
from ..timeutil import utcnow
from ..workflow import require_portal
from .cli import known_groups
from .extract import LIMITS, NotARid
from .forms import ConfirmImportForm, UploadRidForm
from .models import StagedRid
from .reader import read_rid
from .services import import_new_release, import_problem, import_rid_version, new_code

bp = Blueprint("rid_import", __name__)
DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _stage(data: bytes, meta: dict) -> str:
    """Keep the upload until SECAS confirms it (in the database: any host may serve the next request); the same
    bytes uploaded again by the same person replace the earlier staging, and uploads staged over a day ago and
    never confirmed go."""
    digest = hashlib.sha256(data).hexdigest()
    for attempt in (1, 2):
        db.session.execute(sa.delete(StagedRid).where(sa.or_(
            sa.and_(StagedRid.user_id == current_user.id, StagedRid.sha256 == digest),
            StagedRid.created_at < utcnow() - dt.timedelta(days=1))))
        db.session.add(StagedRid(sha256=digest, data=data, filename=meta["filename"], user_id=current_user.id,
                                 target=meta["target"], code=meta["code"]))
        try:
            db.session.commit()
            break
        except sa.exc.IntegrityError:  # the same upload, staged at the same moment by another request
            db.session.rollback()
            if attempt == 2:
                raise
    return digest


def _staged(digest: str) -> StagedRid:
    """The staged upload, if it is there, is this user's and still has this digest; else 404."""
    if not DIGEST.match(digest):
        abort(404)
    staged = db.session.scalar(sa.select(StagedRid).where(StagedRid.user_id == current_user.id,
                                                         StagedRid.sha256 == digest))
    if staged is None or hashlib.sha256(staged.data).hexdigest() != digest:
        abort(404)
    return staged


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
    staged = _staged(digest)
    meta = staged.meta
    reading = read_rid(meta["filename"], staged.data, known_groups())
    target = _target(meta)
    return render_template("rid_import/review.html", reading=reading, meta=meta, target=target, digest=digest,
                           code=new_code(reading, meta["code"]), problem=import_problem(reading, target, meta["code"]),
                           form=ConfirmImportForm())


@bp.route("/import-rid/<digest>/confirm", methods=["POST"])
@roles_required(Role.SECAS)
def confirm(digest: str):
    require_portal("import_rid", current_user)
    staged = _staged(digest)
    meta = staged.meta
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    reading = read_rid(meta["filename"], staged.data, known_groups())
    release = _target(meta)
    if release is not None:
        version = import_rid_version(current_user, release, reading, filename=meta["filename"])
        message = f"RID version {version.number} of {release.name} is imported from {meta['filename']}."
    else:
        release = import_new_release(current_user, reading, code=meta["code"] or None, filename=meta["filename"])
        message = f"{release.name} is created from {meta['filename']}, in the Draft stage."
    db.session.delete(staged)  # in the import's transaction: imported once, then gone
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("releases.show", code=release.code), code=303)
