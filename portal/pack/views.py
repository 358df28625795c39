"""The decision pack downloads, for every signed-in role."""
import json

from flask import Blueprint, Response

from ..access import Role, roles_required
from ..releases.services import release_or_404
from .export import build_pack
from .pdf import render_pdf

bp = Blueprint("pack", __name__)


def _download(body, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@bp.get("/releases/<code>/pack.json")
@roles_required(*Role)
def pack_json(code: str):
    release = release_or_404(code)
    body = json.dumps(build_pack(release), indent=2, ensure_ascii=False, sort_keys=True)
    return _download(body, "application/json", f"decision-pack-{release.code}.json")


@bp.get("/releases/<code>/pack.pdf")
@roles_required(*Role)
def pack_pdf(code: str):
    release = release_or_404(code)
    return _download(render_pdf(build_pack(release)), "application/pdf", f"decision-pack-{release.code}.pdf")
