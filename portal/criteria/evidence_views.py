"""Views: upload, download, withdraw/replace, statements and submission (parse, authorise, call a service,
render)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import Invalid, Role, roles_required
from .views import done, evidence_context, render_region
from ..extensions import db
from ..releases.services import release_or_404
from ..queries import ReleaseFacts
from ..workflow import offers, require
from . import evidence_services as services
from .backends import backend
from .evidence_forms import StatementForm, SubmitEvidenceForm, UploadForm, WithdrawForm

bp = Blueprint("evidence", __name__)
FRAGMENT = "evidence/_evidence.html"


@bp.get("/releases/<code>/criteria/<int:number>/evidence")
@roles_required(*Role)
def evidence(code: str, number: int):
    criterion = services.find_criterion(code, number)
    return render_template(FRAGMENT, **evidence_context(criterion))


@bp.post("/releases/<code>/criteria/<int:number>/evidence")
@roles_required(Role.DCC, Role.SECAS)
def upload(code: str, number: int):
    criterion = services.find_criterion(code, number)
    require("upload_evidence", criterion.release, current_user, criterion)
    form = UploadForm()
    upload = request.files.get("file")
    errors = [] if upload and upload.filename else [{"text": "Select a file to upload", "href": "#file"}]
    if not form.validate_on_submit() or errors:
        return render_region(criterion, FRAGMENT, evidence_context(criterion, upload_form=form, errors=errors), 422)
    replaces = services.find_file(int(form.replaces.data)) if form.replaces.data else None
    try:
        evidence = services.upload_evidence(current_user, criterion, upload.stream, upload.filename,
                                            form.description.data, replaces=replaces)
    except Invalid as err:
        db.session.rollback()
        errors = [{"text": err.message, "href": "#file"}]
        return render_region(criterion, FRAGMENT, evidence_context(criterion, upload_form=form, errors=errors), 422)
    db.session.commit()
    return done(criterion, FRAGMENT, evidence_context(criterion),
                f"Uploaded '{evidence.original_name}' (SHA-256 {evidence.sha256}).")


@bp.get("/evidence/<int:file_id>/download")
@roles_required(*Role)
def download(file_id: int):
    evidence = services.find_file(file_id)
    return backend().send(evidence.sha256, evidence.content_type, evidence.original_name)


@bp.post("/evidence/<int:file_id>/withdraw")
@roles_required(Role.DCC, Role.SECAS)
def withdraw(file_id: int):
    evidence = services.find_file(file_id)
    criterion = evidence.criterion
    form = WithdrawForm()
    if not form.validate_on_submit():
        errors = [{"text": e, "href": "#reason"} for e in form.reason.errors] or None
        return render_region(criterion, FRAGMENT, evidence_context(criterion, errors=errors), 422)
    services.withdraw_evidence(current_user, evidence, form.reason.data)
    db.session.commit()
    return done(criterion, FRAGMENT, evidence_context(criterion), f"Withdrew '{evidence.original_name}'.")


@bp.post("/releases/<code>/criteria/<int:number>/statement")
@roles_required(Role.DCC, Role.SECAS)
def statement(code: str, number: int):
    criterion = services.find_criterion(code, number)
    form = StatementForm()
    if not form.validate_on_submit():
        return render_region(criterion, FRAGMENT, evidence_context(criterion, statement_form=form), 422)
    try:
        services.write_statement(current_user, criterion, form.text.data)
    except Invalid as err:  # only spaces, say: the form again, with the message on its field
        db.session.rollback()
        form.text.errors = [*form.text.errors, err.message]
        return render_region(criterion, FRAGMENT, evidence_context(criterion, statement_form=form), 422)
    db.session.commit()
    return done(criterion, FRAGMENT, evidence_context(criterion), "Statement saved.")


@bp.get("/releases/<code>/evidence/check")
@roles_required(Role.DCC, Role.SECAS)
def check(code: str):
    """Check your evidence: each of the owner's criteria with its files and statement, then the one click that
    submits it."""
    release = release_or_404(code)
    facts = ReleaseFacts(release)
    return render_template("evidence/check.html", release=release,
                           rows=services.evidence_to_check(release, current_user.role),
                           submit=offers(facts, current_user).get("submit_evidence"),
                           submit_form=SubmitEvidenceForm(formdata=None))


@bp.post("/releases/<code>/evidence/submit")
@roles_required(Role.DCC, Role.SECAS)
def submit(code: str):
    release = release_or_404(code)
    if not SubmitEvidenceForm().validate_on_submit():
        flash("The form could not be sent. Try again.", "info")
        return redirect(url_for("criteria.index", code=code), 303)
    submission = services.submit_evidence(current_user, release)
    db.session.commit()
    flash(f"{current_user.role.label} evidence {services.SUBMIT_VERB[current_user.role]} "
          f"({services.timeliness(submission)}).", "success")
    return redirect(url_for("criteria.index", code=code), 303)
