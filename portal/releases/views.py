"""Release list, release page, my tasks."""
import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from ..access import Role, roles_required
from ..extensions import db
from .tasks import tasks_for
from .models import Release

bp = Blueprint("releases", __name__)


@bp.get("/")
@roles_required(*Role)
def index():
    releases = db.session.scalars(sa.select(Release).order_by(Release.planned_go_live.desc())).all()
    return render_template("releases/index.html", releases=releases)


@bp.get("/releases/<code>")
@roles_required(*Role)
def show(code: str):
    release = db.first_or_404(sa.select(Release).where(Release.code == code))
    return render_template("releases/show.html", release=release)


@bp.get("/tasks")
@roles_required(*Role)
def my_tasks():
    return render_template("releases/tasks.html", tasks=tasks_for(current_user))
