"""SECAS writes the whole RID: add, remove and reorder rows, and each section's narrative (on the releases blueprint).

Every form is a page without JavaScript (a save redirects, 303, to the release page at the section) and, with
htmx, a fragment swapped in place of its "Add" link; a save then returns the whole RID (`#rid-document`). Bad input
is the 422 form with its error summary; a refusal the rules give (a conflict) is the 409 message.
"""
from __future__ import annotations

from typing import Callable

from flask import abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import Role, roles_required
from ..extensions import htmx
from ..workflow import require
from . import authoring, authoring_forms as forms, services, snapshot
from .models import Release, ScopeStatus
from .views import _flash_saved, _load_release, _rid_context, _row_or_404, _try_save, bp

# Where each kind of row lives on the release page (the anchor a plain form post returns to).
ANCHORS = {"scope": "scope", "change_request": "scope", "glossary": "glossary", "other_code": "impacts",
           "summary": "impacts", "participant_group": "impacts", "sec_document": "impacts",
           "test_phase": "test-strategy", "cost": "costs", "criterion": "criteria", "milestone": "timeline"}
NARRATIVE_ANCHORS = {"about": "rid-document", "approved_mps_note": "scope", "targeted_mps_note": "scope",
                     "change_requests_note": "scope", "document_impacts_note": "impacts",
                     "other_codes_note": "impacts", "test_strategy_note": "test-strategy",
                     "user_testing_note": "test-strategy", "dcc_costs_note": "costs", "secas_costs_note": "costs"}


def _done(code: str, anchor: str):
    """After a save: the release page at the section, or (htmx) the whole RID in place of the old one."""
    release = _load_release(code)
    _flash_saved(release)
    if not htmx:
        return redirect(url_for("releases.show", code=code, _anchor=anchor), code=303)
    response = make_response(render_template("releases/_rid_document.html", **_rid_context(release)))
    response.headers.update({"HX-Retarget": "#rid-document", "HX-Reswap": "outerHTML"})
    return response


def _author(release: Release, form, anchor: str, save: Callable, title: str, form_id: str, kind: str = ""):
    """GET shows the form; POST validates, calls one service through `save`, commits and answers. A rule the
    service refuses with Invalid comes back on the form, against its field."""
    require("edit_rid", release, current_user)
    status, problem = 200, []
    if request.method == "POST":
        saved, problem, _ = _try_save(form, release, save)
        if saved:
            return _done(release.code, anchor)
        status = 422
    template = "releases/_author_form.html" if htmx else "releases/author.html"
    return render_template(template, release=release, form=form, title=title, anchor=anchor, problem=problem,
                           form_id=form_id,
                           baselined=services.needs_change_note(release, shared=kind in SHARED_KINDS)), status


# --- 1. Scope ----------------------------------------------------------------------------------------

@bp.route("/releases/<code>/scope/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_scope_entry(code: str):
    release = _load_release(code)
    form = forms.ScopeAddForm()

    def save(f):
        authoring.add_scope_entry(current_user, release, reference=f.reference.data, title=f.title.data or "",
                                  url=f.url.data or "", status=ScopeStatus(f.status.data),
                                  cutoff_date=f.cutoff_date.data, summary=f.summary.data,
                                  change_note=f.change_note.data)
    return _author(release, form, "scope", save, "Add a modification to the scope", "add-scope")


# --- Rows added and changed with a form -------------------------------------------------------------

def _fields(f, *names) -> dict:
    return {name: getattr(f, name).data for name in names}


# The rows of a kind: a collection of the release, or the shared matrices' columns and rows.
SHARED_ROWS = {"participant_groups": snapshot.participant_groups, "sec_documents": snapshot.sec_documents}
# Their kinds: a change to one changes every open release's RID, so its note is asked for once any is baselined.
SHARED_KINDS = {"participant_group", "sec_document"}


def _row(release: Release, rows: str, row_id: int):
    """The row with this id among the release's `rows` (404 for another release's row, or none)."""
    return _row_or_404(SHARED_ROWS[rows]() if rows in SHARED_ROWS else getattr(release, rows), row_id)


def _add(code: str, form, kind: str, title: str, service: Callable, *names: str, **extra):
    """An "Add" form for one kind of row: `service(actor, release, **fields)`."""
    release = _load_release(code)
    return _author(release, form, ANCHORS[kind],
                   lambda f: service(current_user, release, **_fields(f, *names, "change_note"), **{
                       k: v(f) for k, v in extra.items()}),
                   title, f"add-{kind.replace('_', '-')}", kind)


def _edit(code: str, rows: str, row_id: int, form_class, kind: str, title: Callable, service: Callable,
          *names: str, panel: str = "", initial: Callable | None = None, **extra):
    """A "Change" form for one row: `service(actor, release, row, **fields)`. With htmx it takes the place of
    `panel` (the section's "Add" link)."""
    release = _load_release(code)
    row = _row(release, rows, row_id)
    form = form_class(**initial(row)) if initial else form_class(obj=row)
    return _author(release, form, ANCHORS[kind],
                   lambda f: service(current_user, release, row, **_fields(f, *names, "change_note"), **{
                       k: v(f) for k, v in extra.items()}),
                   title(row), panel or f"edit-{kind.replace('_', '-')}-{row_id}", kind)


@bp.route("/releases/<code>/change-requests/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_change_request(code: str):
    return _add(code, forms.ChangeRequestForm(), "change_request", "Add a DCC Change Request",
                authoring.add_change_request, "reference", "title")


@bp.route("/releases/<code>/change-requests/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_change_request(code: str, row_id: int):
    return _edit(code, "change_requests", row_id, forms.ChangeRequestForm, "change_request",
                 lambda row: f"Change {row.reference}", authoring.update_change_request, "reference", "title",
                 panel="add-change-request")


@bp.route("/releases/<code>/glossary/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_glossary_term(code: str):
    return _add(code, forms.GlossaryForm(), "glossary", "Add a glossary entry", authoring.add_glossary_term,
                "acronym", "term")


@bp.route("/releases/<code>/glossary/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_glossary_term(code: str, row_id: int):
    return _edit(code, "glossary", row_id, forms.GlossaryForm, "glossary",
                 lambda row: f"Change the glossary entry {row.acronym}", authoring.update_glossary_term,
                 "acronym", "term", panel="add-glossary")


@bp.route("/releases/<code>/other-codes/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_other_code_impact(code: str):
    return _add(code, forms.OtherCodeForm(), "other_code", "Add an impact on another Code",
                authoring.add_other_code_impact, "code", "description")


@bp.route("/releases/<code>/other-codes/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_other_code_impact(code: str, row_id: int):
    return _edit(code, "other_code_impacts", row_id, forms.OtherCodeForm, "other_code",
                 lambda row: f"Change the impact on {row.code}", authoring.update_other_code_impact,
                 "code", "description", panel="add-other-code")


@bp.route("/releases/<code>/impact-summaries/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_impact_summary(code: str):
    return _add(code, forms.NewImpactSummaryForm(), "summary", "Add an impact summary",
                authoring.add_impact_summary, "kind", "subject", "text")


@bp.route("/releases/<code>/participant-groups/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_participant_group(code: str):
    return _add(code, forms.ParticipantGroupForm(), "participant_group", "Add a participant group",
                authoring.add_participant_group, "name")


@bp.route("/releases/<code>/participant-groups/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_participant_group(code: str, row_id: int):
    return _edit(code, "participant_groups", row_id, forms.ParticipantGroupForm, "participant_group",
                 lambda row: f"Change the participant group {row.name}", authoring.update_participant_group,
                 "name", panel="add-participant-group")


@bp.route("/releases/<code>/sec-documents/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_sec_document(code: str):
    return _add(code, forms.SecDocumentForm(), "sec_document", "Add an SEC document", authoring.add_sec_document,
                "name", "title")


@bp.route("/releases/<code>/sec-documents/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_sec_document(code: str, row_id: int):
    return _edit(code, "sec_documents", row_id, forms.SecDocumentForm, "sec_document",
                 lambda row: f"Change the SEC document {row.name}", authoring.update_sec_document,
                 "name", "title", panel="add-sec-document")


@bp.route("/releases/<code>/test-phases/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_test_phase(code: str):
    return _add(code, forms.NewTestPhaseForm(), "test_phase", "Add a test phase", authoring.add_test_phase,
                "phase", "name", "reason", applies=lambda f: f.applies.data == "yes")


@bp.route("/releases/<code>/test-phases/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_test_phase(code: str, row_id: int):
    return _edit(code, "test_phases", row_id, forms.TestPhaseForm, "test_phase",
                 lambda row: f"Change {row.name} ({row.phase})", authoring.update_test_phase, "reason",
                 panel="edit-test-phase", initial=lambda row: {"applies": "yes" if row.applies else "no",
                                                               "reason": row.reason},
                 applies=lambda f: f.applies.data == "yes")


@bp.route("/releases/<code>/costs/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_cost_item(code: str):
    return _add(code, forms.NewCostItemForm(), "cost", "Add a cost", authoring.add_cost_item,
                "party", "description", "amount_pence", "qualifier",
                already_budgeted=lambda f: f.budgeted.data == "yes")


# --- Rows removed and reordered ----------------------------------------------------------------------

def _remove(code: str, rows: str, row_id: int, kind: str, what: Callable, service: Callable):
    """Remove one row: a one-click button in a draft; once baselined a page asking for the change note."""
    release = _load_release(code)
    row = _row(release, rows, row_id)
    return _author(release, forms.RemoveForm(), ANCHORS[kind],
                   lambda f: service(current_user, release, row, f.change_note.data),
                   f"Remove {what(row)}", f"remove-{kind.replace('_', '-')}-{row_id}", kind)


def _move(code: str, rows: str, row_id: int, kind: str, what: str, service: Callable):
    """Move one row up or down (`direction`): as Remove, a button in a draft, a page once baselined."""
    release = _load_release(code)
    row = _row(release, rows, row_id)
    form = forms.MoveForm(direction=request.args.get("direction") if request.method == "GET" else None)
    return _author(release, form, ANCHORS[kind],
                   lambda f: service(current_user, release, row, f.direction.data, f.change_note.data),
                   f"Move {what}", f"move-{kind.replace('_', '-')}-{row_id}", kind)


@bp.route("/releases/<code>/scope/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_scope_entry(code: str, row_id: int):
    return _remove(code, "scope", row_id, "scope", lambda r: f"{r.mp.reference} from the scope",
                   authoring.remove_scope_entry)


@bp.route("/releases/<code>/scope/<int:row_id>/reorder", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def move_scope_entry(code: str, row_id: int):
    return _move(code, "scope", row_id, "scope", "a modification in the scope", authoring.move_scope_entry)


@bp.route("/releases/<code>/change-requests/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_change_request(code: str, row_id: int):
    return _remove(code, "change_requests", row_id, "change_request", lambda r: f"the Change Request {r.reference}",
                   authoring.remove_change_request)


@bp.route("/releases/<code>/change-requests/<int:row_id>/reorder", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def move_change_request(code: str, row_id: int):
    return _move(code, "change_requests", row_id, "change_request", "a DCC Change Request",
                 authoring.move_change_request)


@bp.route("/releases/<code>/glossary/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_glossary_term(code: str, row_id: int):
    return _remove(code, "glossary", row_id, "glossary", lambda r: f"{r.acronym} from the glossary",
                   authoring.remove_glossary_term)


@bp.route("/releases/<code>/glossary/<int:row_id>/reorder", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def move_glossary_term(code: str, row_id: int):
    return _move(code, "glossary", row_id, "glossary", "a glossary entry", authoring.move_glossary_term)


@bp.route("/releases/<code>/other-codes/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_other_code_impact(code: str, row_id: int):
    return _remove(code, "other_code_impacts", row_id, "other_code", lambda r: f"the impact on {r.code}",
                   authoring.remove_other_code_impact)


@bp.route("/releases/<code>/other-codes/<int:row_id>/reorder", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def move_other_code_impact(code: str, row_id: int):
    return _move(code, "other_code_impacts", row_id, "other_code", "an impact on another Code",
                 authoring.move_other_code_impact)


@bp.route("/releases/<code>/impact-summaries/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_impact_summary(code: str, row_id: int):
    return _remove(code, "impact_summaries", row_id, "summary", lambda r: f"an impact summary for {r.subject}",
                   authoring.remove_impact_summary)


@bp.route("/releases/<code>/impact-summaries/<int:row_id>/reorder", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def move_impact_summary(code: str, row_id: int):
    return _move(code, "impact_summaries", row_id, "summary", "an impact summary", authoring.move_impact_summary)


@bp.route("/releases/<code>/participant-groups/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_participant_group(code: str, row_id: int):
    return _remove(code, "participant_groups", row_id, "participant_group",
                   lambda r: f"the participant group {r.name}", authoring.remove_participant_group)


@bp.route("/releases/<code>/participant-groups/<int:row_id>/reorder", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def move_participant_group(code: str, row_id: int):
    return _move(code, "participant_groups", row_id, "participant_group", "a participant group",
                 authoring.move_participant_group)


@bp.route("/releases/<code>/sec-documents/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_sec_document(code: str, row_id: int):
    return _remove(code, "sec_documents", row_id, "sec_document", lambda r: f"the SEC document {r.name}",
                   authoring.remove_sec_document)


@bp.route("/releases/<code>/sec-documents/<int:row_id>/reorder", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def move_sec_document(code: str, row_id: int):
    return _move(code, "sec_documents", row_id, "sec_document", "an SEC document", authoring.move_sec_document)


@bp.route("/releases/<code>/test-phases/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_test_phase(code: str, row_id: int):
    return _remove(code, "test_phases", row_id, "test_phase", lambda r: f"the test phase {r.name}",
                   authoring.remove_test_phase)


@bp.route("/releases/<code>/test-phases/<int:row_id>/reorder", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def move_test_phase(code: str, row_id: int):
    return _move(code, "test_phases", row_id, "test_phase", "a test phase", authoring.move_test_phase)


@bp.route("/releases/<code>/costs/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_cost_item(code: str, row_id: int):
    return _remove(code, "cost_items", row_id, "cost", lambda r: f"the {r.party} cost", authoring.remove_cost_item)


@bp.route("/releases/<code>/costs/<int:row_id>/reorder", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def move_cost_item(code: str, row_id: int):
    return _move(code, "cost_items", row_id, "cost", "a cost", authoring.move_cost_item)


@bp.route("/releases/<code>/criteria/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_criterion(code: str, row_id: int):
    return _remove(code, "criteria", row_id, "criterion", lambda r: f"criterion {r.number}",
                   authoring.remove_criterion)


@bp.route("/releases/<code>/criteria/<int:row_id>/withdraw", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def withdraw_criterion(code: str, row_id: int):
    """A criterion with a record against it is withdrawn, never removed: always a page, as it cannot be undone."""
    release = _load_release(code)
    criterion = _row_or_404(release.criteria, row_id)
    return _author(release, forms.WithdrawForm(), ANCHORS["criterion"],
                   lambda f: authoring.withdraw_criterion(current_user, release, criterion, f.change_note.data),
                   f"Withdraw criterion {criterion.number}", f"withdraw-criterion-{row_id}")


@bp.route("/releases/<code>/milestones/<int:row_id>/remove", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def remove_milestone(code: str, row_id: int):
    return _remove(code, "milestones", row_id, "milestone", lambda r: f"the milestone '{r.event}'",
                   authoring.remove_milestone)


# --- 8. The narrative of each section ----------------------------------------------------------------

@bp.route("/releases/<code>/narrative/<name>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_narrative(code: str, name: str):
    if name not in authoring.NARRATIVES:
        abort(404)
    release = _load_release(code)
    form = forms.NarrativeForm(text=getattr(release, name)) if request.method == "GET" else forms.NarrativeForm()
    form.text.label.text = authoring.NARRATIVES[name]

    def save(f):
        authoring.update_narrative(current_user, release, name, f.text.data or "", f.change_note.data)
    return _author(release, form, NARRATIVE_ANCHORS[name], save,
                   f"Change the RID's text: {authoring.NARRATIVES[name]}", "narrative-panel")


bp.add_app_template_global(authoring.NARRATIVES, "rid_narratives")
