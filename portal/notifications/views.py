"""Each person's notifications and settings; the email outbox for admins."""
from functools import partial

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import Role, roles_required
from ..extensions import db, htmx
from ..ids import bounded_int
from .delivery import deliver_after_request
from .forms import MarkReadForm, PreferencesForm
from .models import Notification, OutboxMessage, OutboxStatus
from .services import MAIL_QUEUED, mark_notifications_read, preferences_for, set_notification_preferences, \
    unread_count

bp = Blueprint("notifications", __name__)

PAGE_SIZE = 50


@bp.app_context_processor
def notification_context():
    # Every template a request renders (each form widget too) asks: count once, and never for a fragment.
    if not current_user.is_authenticated or htmx:
        return {"notification_count": 0}
    if not hasattr(request, "portal_unread_count"):
        request.portal_unread_count = unread_count(current_user)
    return {"notification_count": request.portal_unread_count}


@bp.after_app_request
def deliver_after_commit(response):
    """Once the request's change is committed, try the outbox (cron picks up whatever this misses)."""
    if db.session.info.pop(MAIL_QUEUED, False) and current_app.config.get("MAIL_SERVER"):
        response.call_on_close(partial(deliver_after_request, current_app._get_current_object()))
    return response


@bp.get("/notifications")
@roles_required(*Role)
def index():
    return render_template("notifications/index.html", form=MarkReadForm(), **_list_context())


@bp.post("/notifications/read")
@roles_required(*Role)
def mark_read():
    form = MarkReadForm()
    if not form.validate_on_submit():
        return render_template("notifications/index.html", form=form, **_list_context()), 422
    mark_notifications_read(current_user)
    db.session.commit()
    if htmx:
        return render_template("notifications/_notification_list.html", form=MarkReadForm(), refresh_header=True,
                               **_list_context())
    return redirect(url_for("notifications.index"), 303)


@bp.route("/notifications/settings", methods=["GET", "POST"])
@roles_required(*Role)
def settings():
    form = PreferencesForm(data=preferences_for(current_user) if request.method == "GET" else None)
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("notifications/settings.html", form=form), 422
        set_notification_preferences(current_user, form.channels())
        db.session.commit()
        flash("Your notification settings are saved.", "success")
        return redirect(url_for("notifications.settings"), 303)
    return render_template("notifications/settings.html", form=form)


@bp.get("/admin/outbox")
@roles_required(Role.SECAS, admin=True)
def outbox():
    status = request.args.get("status", "")
    before = request.args.get("before", type=bounded_int)
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE + 1)
    if status in set(OutboxStatus):
        query = query.where(OutboxMessage.status == status)
    if before:
        query = query.where(OutboxMessage.id < before)
    messages = db.session.scalars(query).all()
    older = messages[PAGE_SIZE - 1].id if len(messages) > PAGE_SIZE else None
    counts = dict(db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all())
    return render_template("notifications/outbox.html", messages=messages[:PAGE_SIZE], older=older, status=status,
                           counts={str(k): v for k, v in counts.items()},
                           mail_server=current_app.config.get("MAIL_SERVER"))


def _list_context() -> dict:
    notifications = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc()).limit(100)).all()
    return {"notifications": notifications, "unread": sum(1 for n in notifications if n.read_at is None)}
