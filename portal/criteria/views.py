"""Views: the criteria overview and criterion page, assessments and evidence requests (parse, authorise, call a
service, render)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from .. import workflow
from ..access import Invalid, NotFound, Role, roles_required
from . import evidence_services
from .evidence_forms import StatementForm, SubmitEvidenceForm, UploadForm, WithdrawForm
from ..extensions import db, htmx
from ..forms import with_ids
from ..queries import ReleaseFacts
from ..releases.services import release_or_404
from ..signatures import WrongPassword
from ..workflow import offers
from . import services
from .forms import KIND_CHOICES, AnswerForm, AssessmentForm, CloseRequestForm, RequestForm
from .models import AssessmentKind, AssessmentStatus, EvidenceRequest

bp = Blueprint("criteria", __name__)
CHANGED = {"HX-Trigger": "criterion-changed"}


def _request_or_404(criterion, request_id: int) -> EvidenceRequest:
    found = db.session.get(EvidenceRequest, request_id)
    if found is None or found.criterion_id != criterion.id:
        raise NotFound("There is no such evidence request on this criterion.")
    return found


# --- Contexts for each fragment (the page includes them all); every control comes from the action table -----

def _facts(criterion) -> ReleaseFacts:
    """One set of facts per request, shared by the regions of the criterion page."""
    cached = getattr(g, "criterion_facts", None)
    if cached is None or cached.release is not criterion.release:
        cached = g.criterion_facts = ReleaseFacts(criterion.release)
    return cached


def evidence_context(criterion, upload_form=None, statement_form=None, errors=None) -> dict:
    facts = _facts(criterion)
    statement = evidence_services.statement_for(criterion)
    files = evidence_services.all_files(criterion)
    actions = offers(facts, current_user, criterion)
    return {
        "criterion": criterion, "files": files, "statement": statement, "actions": actions,
        "file_actions": {f.id: offers(facts, current_user, f) for f in files},
        "locked_reason": workflow.why_closed("upload_evidence", facts, criterion),
        "upload_form": upload_form or UploadForm(formdata=None),
        "statement_form": statement_form or StatementForm(formdata=None, text=statement.text if statement else ""),
        "withdraw_form": WithdrawForm(formdata=None), "upload_errors": errors,
        "max_upload_mb": evidence_services.max_upload_mb(),
        "checklist": services.owner_checklist(facts, criterion, current_user),
    }


KIND_ACTIONS = {AssessmentKind.PRELIMINARY: "assess_preliminary", AssessmentKind.FINAL: "assess_final"}


def assessment_context(criterion, form=None, errors=None) -> dict:
    facts = _facts(criterion)
    actions = offers(facts, current_user, criterion)
    kinds = [kind for kind, name in KIND_ACTIONS.items() if name in actions and not actions[name].reason]
    form = form or AssessmentForm(formdata=None, kind=kinds[-1].value if kinds else None)
    form.kind.choices = [(value, label) for value, label in KIND_CHOICES if AssessmentKind(value) in kinds]
    assessments = services.assessments_of(criterion)
    return {
        "criterion": criterion, "assessments": assessments, "actions": actions,
        "standing": services.standing_assessment(assessments),
        "assessment_form": form, "assessment_errors": errors,
    }


def requests_context(criterion, form=None, answer_form=None, errors=None) -> dict:
    facts = _facts(criterion)
    thread = services.requests_of(criterion)
    request_actions = {r.id: offers(facts, current_user, r) for r in thread}
    return {
        "criterion": criterion, "thread": thread, "actions": offers(facts, current_user, criterion),
        "request_actions": request_actions,
        "ask_again_on": next((r for r in thread if request_actions[r.id].can("ask_again")), None),
        "answer_files": {r.id: services.answer_files(r) for r in thread},
        "request_form": form or RequestForm(formdata=None),
        "answer_form": with_ids(answer_form or AnswerForm(formdata=None), "answer"),  # beside the upload form
        "close_form": CloseRequestForm(formdata=None), "request_errors": errors,
    }


def page_context(subject, **overrides) -> dict:
    """The whole criterion page; `overrides` carry one region's form state (with errors)."""
    context = {"release": subject.release, "grid": services.readiness_grid(subject.release)}
    context.update(evidence_context(subject))
    context.update(assessment_context(subject))
    context.update(requests_context(subject))
    context.update(overrides)
    context["actions"] = offers(_facts(subject), current_user, subject)
    return context


def render_region(criterion, fragment: str, context: dict, status: int = 200):
    """The fragment for HTMX, else the whole criterion page with this region's state."""
    if htmx:
        return render_template(fragment, **context), status, ({} if status >= 400 else CHANGED)
    return render_template("criteria/criterion.html", **page_context(criterion, **context)), status


def done(criterion, fragment: str, context: dict, message: str):
    """After a change: the refreshed fragment (and an event for the other regions), or 303 to the page."""
    flash(message, "success")  # with htmx, swapped into the page's messages (portal/refresh.py)
    if htmx:
        return render_template(fragment, **context), 200, CHANGED
    return redirect(url_for("criteria.show", code=criterion.release.code, number=criterion.number), 303)


# --- Pages ---------------------------------------------------------------------------------------------

@bp.get("/releases/<code>/criteria")
@roles_required(*Role)
def index(code: str):
    release = release_or_404(code)
    facts = ReleaseFacts(release)
    submissions = evidence_services.submissions_of(release)
    return render_template(
        "criteria/index.html", release=release, grid=services.readiness_grid(release),
        latest=services.latest_assessments(release), owners=facts.roles_to_submit(), submissions=submissions,
        timeliness={r: evidence_services.timeliness(s) for r, s in submissions.items()},
        submit=offers(facts, current_user).get("submit_evidence"),
        submit_form=SubmitEvidenceForm(formdata=None), deadline=evidence_services.evidence_deadline(release))


@bp.get("/releases/<code>/criteria/grid")
@roles_required(*Role)
def grid(code: str):
    return render_template("criteria/_readiness_grid.html", grid=services.readiness_grid(release_or_404(code)))


@bp.get("/releases/<code>/criteria/<int:number>")
@roles_required(*Role)
def show(code: str, number: int):
    criterion = evidence_services.find_criterion(code, number)
    return render_template("criteria/criterion.html", **page_context(criterion))


# --- Assessments ---------------------------------------------------------------------------------------

@bp.get("/releases/<code>/criteria/<int:number>/assessments")
@roles_required(*Role)
def assessments(code: str, number: int):
    criterion = evidence_services.find_criterion(code, number)
    return render_template("criteria/_assessment.html", **assessment_context(criterion))


@bp.post("/releases/<code>/criteria/<int:number>/assessments")
@roles_required(Role.OPSG)
def assess(code: str, number: int):
    criterion = evidence_services.find_criterion(code, number)
    form = AssessmentForm()
    if not form.validate_on_submit():
        return render_region(criterion, "criteria/_assessment.html", assessment_context(criterion, form), 422)
    try:
        services.assess_criterion(current_user, criterion, AssessmentStatus(form.status.data), form.rationale.data,
                                  AssessmentKind(form.kind.data), form.password.data or "",
                                  form.revision_reason.data or "")
    except Invalid as err:
        db.session.rollback()
        href = "#password" if isinstance(err, WrongPassword) else "#rationale"
        if isinstance(err, WrongPassword):
            form.password.errors = [err.message]
        errors = [{"text": err.message, "href": href}]
        return render_region(criterion, "criteria/_assessment.html", assessment_context(criterion, form, errors), 422)
    db.session.commit()
    return done(criterion, "criteria/_assessment.html", assessment_context(criterion), "Assessment recorded.")


# --- Evidence requests ---------------------------------------------------------------------------------

@bp.get("/releases/<code>/criteria/<int:number>/requests")
@roles_required(*Role)
def requests(code: str, number: int):
    criterion = evidence_services.find_criterion(code, number)
    return render_template("criteria/_requests.html", **requests_context(criterion))


@bp.post("/releases/<code>/criteria/<int:number>/requests")
@roles_required(Role.OPSG)
def open_request(code: str, number: int):
    criterion = evidence_services.find_criterion(code, number)
    form = RequestForm()
    if not form.validate_on_submit():
        return render_region(criterion, "criteria/_requests.html", requests_context(criterion, form), 422)
    try:
        services.request_evidence(current_user, criterion, form.question.data, form.due_on.data)
    except Invalid as err:
        return _request_refused(criterion, form, err)
    db.session.commit()
    return done(criterion, "criteria/_requests.html", requests_context(criterion), "Evidence requested.")


def _request_refused(criterion, form, err: Invalid):
    """The request form again, with the service's refusal against its field (the question or the date)."""
    db.session.rollback()
    field = form.due_on if err.field == "due_on" else form.question
    field.errors = [*field.errors, err.message]
    return render_region(criterion, "criteria/_requests.html", requests_context(criterion, form), 422)


@bp.post("/releases/<code>/criteria/<int:number>/requests/<int:request_id>/again")
@roles_required(Role.OPSG)
def ask_again(code: str, number: int, request_id: int):
    criterion = evidence_services.find_criterion(code, number)
    evidence_request = _request_or_404(criterion, request_id)
    form = RequestForm()
    if not form.validate_on_submit():
        return render_region(criterion, "criteria/_requests.html", requests_context(criterion, form), 422)
    try:
        services.ask_again(current_user, evidence_request, form.question.data, form.due_on.data)
    except Invalid as err:
        return _request_refused(criterion, form, err)
    db.session.commit()
    return done(criterion, "criteria/_requests.html", requests_context(criterion), "Asked again.")


@bp.post("/releases/<code>/criteria/<int:number>/requests/<int:request_id>/close")
@roles_required(Role.OPSG)
def close_request(code: str, number: int, request_id: int):
    criterion = evidence_services.find_criterion(code, number)
    evidence_request = _request_or_404(criterion, request_id)
    if not CloseRequestForm().validate_on_submit():
        return render_region(criterion, "criteria/_requests.html", requests_context(criterion), 422)
    services.close_request(current_user, evidence_request)
    db.session.commit()
    return done(criterion, "criteria/_requests.html", requests_context(criterion), "Request closed.")


@bp.post("/releases/<code>/criteria/<int:number>/requests/<int:request_id>/answer")
@roles_required(Role.DCC, Role.SECAS)
def answer_request(code: str, number: int, request_id: int):
    criterion = evidence_services.find_criterion(code, number)
    evidence_request = _request_or_404(criterion, request_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return render_region(criterion, "criteria/_requests.html", requests_context(criterion, answer_form=form), 422)
    upload = request.files.get("file")
    staged = upload.stream if upload and upload.filename else None
    try:
        services.answer_request(current_user, evidence_request, form.comment.data, staged,
                                upload.filename if staged else None, form.description.data or "")
    except Invalid as err:
        db.session.rollback()
        errors = [{"text": err.message, "href": "#comment"}]
        return render_region(criterion, "criteria/_requests.html",
                             requests_context(criterion, answer_form=form, errors=errors), 422)
    db.session.commit()
    return done(criterion, "criteria/_requests.html", requests_context(criterion), "Answer sent.")
