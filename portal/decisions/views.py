"""Views: parse, authorise, call a service, render."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import Invalid, NotFound, Role, roles_required
from ..auth.models import User
from ..extensions import db, htmx
from ..forms import with_ids
from ..queries import ReleaseFacts, latest_vote
from ..releases.models import Release, ScopeStatus
from ..releases.services import release_or_404
from ..timeutil import UK
from ..workflow import CONFIRMATION_ACTIONS, conditions_blocking, offers, refusal, require
from . import services
from ..criteria.backends import backend
from .forms import (AcceptConditionForm, AlternateForm, ConditionMetForm, WaiveConditionForm, BallotForm, CloseVoteForm, ConfirmationForm, ConflictForm, DecisionForm,
                    OpenVoteForm, ReassessmentForm, RecommendationForm, ReplanForm, RevokeAlternateForm)
from .models import Choice, ConfirmationKind, RecommendationKind

bp = Blueprint("decisions", __name__)


def _done(endpoint: str, code: str):
    return redirect(url_for(endpoint, code=code), 303)


def _problem(err: Invalid, field_id: str, suffix: str = "") -> list[dict]:
    """The error summary's one entry, linked to the field the service named (else `field_id`)."""
    db.session.rollback()
    return [{"text": err.message, "href": f"#{err.field or field_id}{suffix}"}]


@bp.get("/releases/<code>/decision")
@roles_required(*Role)
def decision(code: str):
    release = release_or_404(code)
    return render_template("decisions/decision.html", release=release,
                           decision=services.decision_summary(release, current_user))


# --- Recommendation (OpsG chair) -------------------------------------------------------------------

@bp.route("/releases/<code>/recommendation", methods=["GET", "POST"])
@roles_required(Role.OPSG)
def recommendation(code: str):
    release = release_or_404(code)
    form = RecommendationForm()
    problem = None
    if form.validate_on_submit():
        conditions = [(Role.DCC, line) for line in (form.conditions.data or "").splitlines()] + [
            (Role.SECAS, line) for line in (form.secas_conditions.data or "").splitlines()]
        try:
            services.record_recommendation(current_user, release, kind=RecommendationKind(form.kind.data),
                                           conditions=conditions,
                                           reasons=form.reasons.data, password=form.password.data)
        except Invalid as err:
            problem = _problem(err, "reasons")
        else:
            db.session.commit()
            return _done("decisions.decision", code)
    status = 422 if form.errors or problem else 200
    facts = ReleaseFacts(release)
    return render_template("decisions/recommendation.html", release=release, form=form, problem=problem,
                           refused=refusal("record_recommendation", facts, current_user),
                           criteria=[(c, facts.final(c)) for c in facts.criteria],
                           decision=services.decision_summary(release, current_user, facts)), status


# --- Conditions (owner marks met, OpsG accepts, Panel chair waives) --------------------------------

CONDITIONS_FRAGMENT = "decisions/_conditions.html"


def _conditions_context(release: Release, facts: ReleaseFacts | None = None, *, number: int | None = None,
                        problem=None, **forms) -> dict:
    """Every condition with its state, evidence and the forms the action table offers this user."""
    facts = facts or ReleaseFacts(release)
    rows = []
    for condition in facts.conditions:
        n, mine = condition.number, condition.number == number
        rows.append({
            "condition": condition, "actions": offers(facts, current_user, condition),
            "met_form": with_ids(forms.get("met_form") if mine and forms.get("met_form")
                                  else ConditionMetForm(formdata=None), f"{n}"),
            "waive_form": with_ids(forms.get("waive_form") if mine and forms.get("waive_form")
                                    else WaiveConditionForm(formdata=None), f"{n}"),
            "accept_form": with_ids(AcceptConditionForm(formdata=None), f"{n}"),
        })
    return {"release": release, "rows": rows, "problem": problem, "blocking": conditions_blocking(facts),
            "error_form": forms.get("met_form") or forms.get("waive_form"), "recommendation": facts.recommendation}


def _conditions_region(release: Release, status: int = 200, **context):
    """The conditions fragment for htmx, else the whole conditions page."""
    context = _conditions_context(release, **context)
    if htmx:
        headers = {} if status >= 400 else {"HX-Trigger": "release-changed"}
        return render_template(CONDITIONS_FRAGMENT, **context), status, headers
    return render_template("decisions/conditions.html", **context), status


def _condition_done(release: Release, message: str):
    flash(message, "success")  # with htmx, swapped into the page's messages (portal/refresh.py)
    if htmx:
        return _conditions_region(release)
    return _done("decisions.conditions", release.code)


@bp.get("/releases/<code>/conditions")
@roles_required(*Role)
def conditions(code: str):
    return _conditions_region(release_or_404(code))


@bp.post("/releases/<code>/conditions/<int:number>/met")
@roles_required(Role.DCC, Role.SECAS)
def mark_condition_met(code: str, number: int):
    release = release_or_404(code)
    condition = services.find_condition(ReleaseFacts(release), number)
    require("mark_condition_met", release, current_user, condition)
    form = ConditionMetForm()
    if not form.validate_on_submit():
        return _conditions_region(release, 422, number=number, met_form=form)
    upload = request.files.get("file")
    staged = upload.stream if upload is not None and upload.filename else None
    try:
        services.mark_condition_met(current_user, release, condition, statement=form.statement.data,
                                    staged=staged, file_name=upload.filename if staged else None)
    except Invalid as err:
        return _conditions_region(release, 422, number=number, met_form=form,
                                  problem=_problem(err, "statement", f"-{number}"))
    db.session.commit()
    return _condition_done(release, f"Condition {number} marked as met. OpsG will review it.")


@bp.post("/releases/<code>/conditions/<int:number>/accept")
@roles_required(Role.OPSG)
def accept_condition(code: str, number: int):
    release = release_or_404(code)
    condition = services.find_condition(ReleaseFacts(release), number)
    require("accept_condition", release, current_user, condition)
    if not AcceptConditionForm().validate_on_submit():
        return _conditions_region(release, 422, number=number)
    services.accept_condition(current_user, release, condition)
    db.session.commit()
    return _condition_done(release, f"Condition {number} accepted as met.")


@bp.post("/releases/<code>/conditions/<int:number>/waive")
@roles_required(Role.PANEL)
def waive_condition(code: str, number: int):
    release = release_or_404(code)
    condition = services.find_condition(ReleaseFacts(release), number)
    require("waive_condition", release, current_user, condition)
    form = WaiveConditionForm()
    if not form.validate_on_submit():
        return _conditions_region(release, 422, number=number, waive_form=form)
    try:
        services.waive_condition(current_user, release, condition, form.reason.data)
    except Invalid as err:
        return _conditions_region(release, 422, number=number, waive_form=form,
                                  problem=_problem(err, f"reason-{number}"))
    db.session.commit()
    return _condition_done(release, f"Condition {number} waived.")


@bp.get("/releases/<code>/conditions/<int:number>/file")
@roles_required(*Role)
def condition_file(code: str, number: int):
    release = release_or_404(code)
    condition = services.find_condition(ReleaseFacts(release), number)
    if not condition.file_sha256:
        raise NotFound(f"Condition {number} has no file.")
    return backend().send(condition.file_sha256, condition.file_type, condition.file_name)


# --- The vote --------------------------------------------------------------------------------------

def _vote_page(release: Release, status: int = 200, *, problem=None, template: str = "decisions/vote.html",
               **forms):
    """The vote page (or, for htmx, the ballot panel) with any submitted form bound to show its errors. Each
    control is drawn from the action table's offers to this user."""
    facts = ReleaseFacts(release)
    vote = facts.vote  # this round's: after a replan the new round's vote is not open yet
    summary = services.decision_summary(release, current_user, facts)
    panel_users = db.session.scalars(sa.select(User).where(User.role == Role.PANEL, User.active,
                                                           User.id != current_user.id).order_by(User.name)).all()
    alternate_form = forms.get("alternate_form") or AlternateForm(formdata=None)
    alternate_form.alternate_id.choices = [(u.id, u.name) for u in panel_users]
    ballot_forms = []
    for seat in facts.seats_of(current_user):
        if "cast_ballot" not in offers(facts, current_user, seat):
            continue
        form = forms.get("ballot_form") if forms.get("ballot_seat") == seat.member_id else None
        if form is None:
            form = BallotForm(formdata=None, member_id=seat.member_id)
        ballot_forms.append((seat, form))
    context = dict(
        release=release, vote=vote, decision=summary, tally=facts.tally,
        problem=problem, actions=offers(facts, current_user), own_seat=facts.own_seat(current_user),
        open_form=forms.get("open_form") or OpenVoteForm(formdata=None),
        ballot_forms=ballot_forms,
        my_ballots={b.member_id: b for b in facts.ballots if b.cast_by_id == current_user.id},
        alternate_form=alternate_form, conflict_form=forms.get("conflict_form") or ConflictForm(formdata=None),
        revoke_form=RevokeAlternateForm(formdata=None), close_form=CloseVoteForm(formdata=None),
        decision_form=forms.get("decision_form") or DecisionForm(formdata=None),
        ballots=facts.ballots if vote and not vote.is_open else [],
        ballot_seat=forms.get("ballot_seat"), Choice=Choice,
    )
    return render_template(template, **context), status


def _open_vote_or_404(release: Release):
    vote = latest_vote(release)
    if vote is None:
        raise NotFound("The Panel vote has not been opened.")
    return vote


@bp.get("/releases/<code>/vote")
@roles_required(*Role)
def vote(code: str):
    return _vote_page(release_or_404(code))


@bp.get("/releases/<code>/vote/tally")
@roles_required(*Role)
def vote_tally(code: str):
    release = release_or_404(code)
    vote = _open_vote_or_404(release)
    return render_template("decisions/_vote_tally.html", release=release, vote=vote,
                           tally=services.count_vote(vote))


def _parse_closing_time(local: dt.datetime | None) -> dt.datetime | None:
    """The closing time as typed in the UK (the form has read and bounded it), in UTC."""
    return local.replace(tzinfo=UK).astimezone(dt.timezone.utc) if local else None


@bp.post("/releases/<code>/vote/open")
@roles_required(Role.PANEL)
def open_vote(code: str):
    release = release_or_404(code)
    form = OpenVoteForm()
    if not form.validate_on_submit():
        return _vote_page(release, 422, open_form=form)
    try:
        services.open_vote(current_user, release, closes_at=_parse_closing_time(form.closes_at.data))
    except Invalid as err:
        return _vote_page(release, 422, open_form=form, problem=_problem(err, "closes_at"))
    db.session.commit()
    return _done("decisions.vote", code)


@bp.post("/releases/<code>/vote/ballot")
@roles_required(Role.PANEL)
def cast_vote(code: str):
    release = release_or_404(code)
    vote = _open_vote_or_404(release)
    form = BallotForm()
    seat = form.member_id.data if isinstance(form.member_id.data, int) else None
    template = "decisions/_ballot_panel.html" if htmx else "decisions/vote.html"
    if not form.validate_on_submit():
        return _vote_page(release, 422, ballot_form=form, ballot_seat=seat, template=template)
    try:
        services.cast_vote(current_user, vote, member_id=form.member_id.data, choice=Choice(form.choice.data),
                           comment=form.comment.data or "", password=form.password.data)
    except Invalid as err:
        return _vote_page(release, 422, ballot_form=form, ballot_seat=seat, template=template,
                          problem=_problem(err, "password", f"-{seat}"))
    db.session.commit()
    if htmx:
        response = make_response(_vote_page(release, template=template))
        response.headers["HX-Trigger"] = "vote-changed"
        return response
    return _done("decisions.vote", code)


def _confirmed() -> bool:
    """Whether this post comes from the confirmation page (the first post of a step that cannot be undone shows it)."""
    return request.form.get("confirmed") == "yes"


def _confirm_page(release: Release, *, heading: str, warning: str, action: str, button: str, fields=(),
                  rows=(), listed=None, listed_heading: str = "", listed_empty: str = "", warn: bool = False):
    return render_template("decisions/confirm.html", release=release, heading=heading, rows=list(rows),
                           listed=listed, listed_heading=listed_heading, listed_empty=listed_empty,
                           warning=warning, action=action, fields=list(fields), button=button, warn=warn,
                           back=url_for("decisions.vote", code=release.code))


@bp.post("/releases/<code>/vote/alternate")
@roles_required(Role.PANEL)
def appoint_alternate(code: str):
    release = release_or_404(code)
    vote = _open_vote_or_404(release)
    form = AlternateForm()
    form.alternate_id.choices = [(u.id, u.name) for u in db.session.scalars(
        sa.select(User).where(User.role == Role.PANEL, User.active))]
    require("appoint_alternate", ReleaseFacts(release), current_user)
    if not form.validate_on_submit():
        return _vote_page(release, 422, alternate_form=form)
    alternate = db.session.get(User, form.alternate_id.data)
    if not _confirmed():
        return _confirm_page(
            release, heading=f"Appoint {alternate.name} as your alternate?",
            rows=[("Alternate", f"{alternate.name} ({alternate.organisation})")],
            warning=f"{alternate.name} will vote in your place in this vote, and you will not vote yourself. You "
                    "can revoke the appointment until they have voted.",
            action=url_for("decisions.appoint_alternate", code=code), fields=[("alternate_id", alternate.id)],
            button=f"Appoint {alternate.name}")
    try:
        services.appoint_alternate(current_user, vote, alternate)
    except Invalid as err:
        return _vote_page(release, 422, alternate_form=form, problem=_problem(err, "alternate_id"))
    db.session.commit()
    flash(f"{alternate.name} is your alternate in this vote.", "success")
    return _done("decisions.vote", code)


@bp.post("/releases/<code>/vote/alternate/revoke")
@roles_required(Role.PANEL)
def revoke_alternate(code: str):
    release = release_or_404(code)
    vote = _open_vote_or_404(release)
    facts = ReleaseFacts(release)
    require("revoke_alternate", facts, current_user)
    if not RevokeAlternateForm().validate_on_submit():
        return _vote_page(release, 422)
    alternate = facts.own_seat(current_user).alternate
    if not _confirmed():
        return _confirm_page(
            release, heading=f"Revoke {alternate.name} as your alternate?", rows=[("Alternate", alternate.name)],
            warning=f"{alternate.name} will no longer vote in your place: you vote yourself again.",
            action=url_for("decisions.revoke_alternate", code=code), button=f"Revoke {alternate.name}")
    services.revoke_alternate(current_user, vote)
    db.session.commit()
    flash(f"You revoked {alternate.name} as your alternate: you vote yourself again.", "success")
    return _done("decisions.vote", code)


@bp.post("/releases/<code>/vote/conflict")
@roles_required(Role.PANEL)
def declare_conflict(code: str):
    release = release_or_404(code)
    vote = _open_vote_or_404(release)
    require("declare_conflict", ReleaseFacts(release), current_user)
    form = ConflictForm()
    if not form.validate_on_submit():
        return _vote_page(release, 422, conflict_form=form)
    if not _confirmed():
        return _confirm_page(
            release, heading="Declare a conflict of interest?", rows=[("Conflict of interest", form.note.data)],
            warning="Once declared, you do not vote in this vote and are not counted towards quorum. This cannot "
                    "be undone.", action=url_for("decisions.declare_conflict", code=code),
            fields=[("note", form.note.data)], button="Declare the conflict", warn=True)
    services.declare_conflict(current_user, vote, form.note.data)
    db.session.commit()
    flash("Your conflict of interest is declared: you do not vote in this vote.", "success")
    return _done("decisions.vote", code)


@bp.post("/releases/<code>/vote/close")
@roles_required(Role.PANEL)
def close_vote(code: str):
    release = release_or_404(code)
    vote = _open_vote_or_404(release)
    facts = ReleaseFacts(release)
    require("close_vote", facts, current_user)
    form = CloseVoteForm()
    if not form.validate_on_submit():
        return _vote_page(release, 422)
    if not _confirmed():
        tally = facts.tally
        waiting = [seat.member.name + (f" (alternate: {seat.alternate.name})" if seat.alternate else "")
                   for seat in tally.eligible if seat.member_id not in tally.voted_ids]
        return _confirm_page(
            release, heading="Close the vote now?",
            rows=[("Voted", f"{len(tally.voted_ids)} of {len(tally.eligible)} eligible members"),
                  ("Outcome if closed now", tally.outcome.label if tally.outcome else "None")],
            listed=waiting, listed_heading="Not voted yet", listed_empty="Every eligible member has voted.",
            warning="Closing cannot be undone: no ballot can be cast or changed after it, and the ballots are "
                    "revealed.", action=url_for("decisions.close_vote", code=code), button="Close the vote",
            warn=True)
    services.close_vote(current_user, vote)
    db.session.commit()
    return _done("decisions.vote", code)


@bp.post("/releases/<code>/vote/decision")
@roles_required(Role.PANEL)
def record_decision(code: str):
    release = release_or_404(code)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _vote_page(release, 422, decision_form=form)
    try:
        services.record_decision(current_user, release, reasons=form.reasons.data, password=form.password.data)
    except Invalid as err:
        return _vote_page(release, 422, decision_form=form, problem=_problem(err, "password"))
    db.session.commit()
    return _done("decisions.decision", code)


# --- Go-live (SECAS, DCC) --------------------------------------------------------------------------

@bp.route("/releases/<code>/go-live", methods=["GET", "POST"])
@roles_required(Role.SECAS, Role.DCC)
def go_live(code: str):
    release = release_or_404(code)
    form = ConfirmationForm()
    problem = None
    if form.validate_on_submit():
        try:
            services.confirm_go_live(current_user, release, ConfirmationKind(form.kind.data),
                                     password=form.password.data, sec_version=form.sec_version.data or "",
                                     note=form.note.data or "")
        except Invalid as err:
            problem = _problem(err, "sec_version")
        else:
            db.session.commit()
            return _done("decisions.decision", code)
    status = 422 if form.errors or problem else 200
    facts = ReleaseFacts(release)
    summary = services.decision_summary(release, current_user, facts)
    available = offers(facts, current_user)
    kinds = [(kind, available[name]) for kind, name in CONFIRMATION_ACTIONS.items() if name in available]
    return render_template("decisions/go_live.html", release=release, form=form, problem=problem, kinds=kinds,
                           decision=summary, ConfirmationKind=ConfirmationKind), status


# --- No-go: re-planning (SECAS) and re-assessment marks (OpsG) -------------------------------------

@bp.route("/releases/<code>/replan", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def replan(code: str):
    release = release_or_404(code)
    form = ReplanForm()
    entries = [e for e in release.scope if e.status in (ScopeStatus.APPROVED, ScopeStatus.TARGETED)]
    others = db.session.scalars(sa.select(Release).where(Release.id != release.id).order_by(Release.code)).all()
    form.withdraw.choices = [(e.id, f"{e.mp.reference}: {e.mp.title}") for e in entries]
    form.move_mp.choices = [(0, "No modification moves")] + [(e.id, e.mp.reference) for e in entries]
    form.move_to.choices = [(0, "Choose a release")] + [(r.id, r.name) for r in others]
    problem = None
    if form.validate_on_submit():
        changes = {entry_id: (ScopeStatus.WITHDRAWN, None) for entry_id in form.withdraw.data or []}
        if form.move_mp.data:
            changes[form.move_mp.data] = (ScopeStatus.MOVED, db.session.get(Release, form.move_to.data or 0))
        try:
            services.replan_release(current_user, release, new_go_live=form.new_go_live.data,
                                    change_note=form.change_note.data, scope_changes=changes)
        except Invalid as err:
            problem = _problem(err, "new_go_live-day")
        else:
            db.session.commit()
            return _done("decisions.decision", code)
    status = 422 if form.errors or problem else 200
    return render_template("decisions/replan.html", release=release, form=form, problem=problem,
                           refused=refusal("replan", ReleaseFacts(release), current_user)), status


@bp.route("/releases/<code>/reassessment", methods=["GET", "POST"])
@roles_required(Role.OPSG)
def reassessment(code: str):
    release = release_or_404(code)
    facts = ReleaseFacts(release)
    automatic = facts.reopening_at_replan()  # the choice is among the others
    form = ReassessmentForm()
    form.criteria.choices = [(c.id, f"{c.number}. {c.text} (final assessment: {facts.final(c).status.label})")
                             for c in facts.criteria if facts.final(c) and c not in automatic]
    problem = None
    if form.validate_on_submit():
        try:
            services.reopen_criteria(current_user, release, set(form.criteria.data))
        except Invalid as err:
            problem = _problem(err, "criteria")
        else:
            db.session.commit()
            return _done("decisions.decision", code)
    status = 422 if form.errors or problem else 200
    return render_template("decisions/reassessment.html", release=release, form=form, problem=problem,
                           automatic=automatic, offer=offers(facts, current_user).get("reopen_criteria"),
                           decision=services.decision_summary(release, current_user, facts)), status
