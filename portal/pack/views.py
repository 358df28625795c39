"""The decision pack downloads, for every signed-in role."""
import json

import sqlalchemy as sa
from flask import Blueprint, Response

from ..access import Role, roles_required
from ..extensions import db
from ..releases.models import Release
from .export import build_pack
from .pdf import render_pdf

bp = Blueprint("pack", __name__)


def _release(code: str) -> Release:
    return db.first_or_404(sa.select(Release).where(Release.code == code))


def _download(body, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@bp.get("/releases/<code>/pack.json")
@roles_required(*Role)
def pack_json(code: str):
    release = _release(code)
    body = json.dumps(build_pack(release), indent=2, ensure_ascii=False, sort_keys=True)
    return _download(body, "application/json", f"decision-pack-{release.code}.json")


@bp.get("/releases/<code>/pack.pdf")
@roles_required(*Role)
def pack_pdf(code: str):
    release = _release(code)
    return _download(render_pdf(build_pack(release)), "application/pdf", f"decision-pack-{release.code}.pdf")
