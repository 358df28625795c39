"""The audit trail pages."""
from flask import Blueprint, render_template

from ..access import Role, roles_required

bp = Blueprint("audit", __name__)


@bp.get("/audit")
@roles_required(Role.SECAS, admin=True)
def portal_trail():
    return render_template("audit/trail.html")
