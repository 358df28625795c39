"""SECAS writes the whole RID: add, remove and reorder rows, and each section's narrative (on the releases blueprint).

Every form is a page without JavaScript (a save redirects, 303, to the release page at the section) and, with
htmx, a fragment swapped in place of its "Add" link; a save then returns the whole RID (`#rid-document`). Bad input
is the 422 form with its error summary; a refusal the rules give (a conflict) is the 409 message.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import Invalid, Role, roles_required
from ..extensions import db, htmx
from ..workflow import require
from . import authoring, authoring_forms as forms, services
from .models import Release, ScopeStatus
from .views import _form_ok, _load_release, _rid_context, _row_or_404, bp

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
    version = f" The RID is now version {release.current_rid.number}." if services.needs_change_note(release) \
        and release.current_rid else ""
    flash(f"Your change to the RID is saved.{version}", "success")
    if not htmx:
        return redirect(url_for("releases.show", code=code, _anchor=anchor), code=303)
    response = make_response(render_template("releases/_rid_document.html", **_rid_context(release)))
    response.headers.update({"HX-Retarget": "#rid-document", "HX-Reswap": "outerHTML"})
    return response


def _author(release: Release, form, anchor: str, save: Callable, title: str, form_id: str):
    """GET shows the form; POST validates, calls one service through `save`, commits and answers. A rule the
    service refuses with Invalid comes back on the form, against its field."""
    require("edit_rid", release, current_user)
    status, problem = 200, []
    if request.method == "POST":
        if _form_ok(form, release):
            try:
                save(form)
            except Invalid as err:
                db.session.rollback()
                field = getattr(form, err.field, None) if err.field else None
                if field is not None:
                    field.errors = [*field.errors, err.message]
                else:
                    problem = [{"text": err.message, "href": "#main-content"}]
            else:
                db.session.commit()
                return _done(release.code, anchor)
        status = 422
    template = "releases/_author_form.html" if htmx else "releases/author.html"
    return render_template(template, release=release, form=form, title=title, anchor=anchor, problem=problem,
                           form_id=form_id, baselined=services.needs_change_note(release)), status


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


# --- Rows added with a form: Change Requests, glossary, other Codes, summaries, matrices, costs -------

@dataclass(frozen=True)
class Adder:
    endpoint: str
    path: str
    form: type
    kind: str
    title: str
    save: Callable  # (release, form) -> row


def _fields(f, *names) -> dict:
    return {name: getattr(f, name).data for name in names}


ADDERS = [
    Adder("add_change_request", "change-requests/new", forms.ChangeRequestForm, "change_request",
          "Add a DCC Change Request", lambda r, f: authoring.add_change_request(
              current_user, r, **_fields(f, "reference", "title", "change_note"))),
    Adder("add_glossary_term", "glossary/new", forms.GlossaryForm, "glossary", "Add a glossary entry",
          lambda r, f: authoring.add_glossary_term(current_user, r, **_fields(f, "acronym", "term", "change_note"))),
    Adder("add_other_code_impact", "other-codes/new", forms.OtherCodeForm, "other_code",
          "Add an impact on another Code", lambda r, f: authoring.add_other_code_impact(
              current_user, r, **_fields(f, "code", "description", "change_note"))),
    Adder("add_impact_summary", "impact-summaries/new", forms.NewImpactSummaryForm, "summary",
          "Add an impact summary", lambda r, f: authoring.add_impact_summary(
              current_user, r, **_fields(f, "kind", "subject", "text", "change_note"))),
    Adder("add_participant_group", "participant-groups/new", forms.ParticipantGroupForm, "participant_group",
          "Add a participant group", lambda r, f: authoring.add_participant_group(
              current_user, r, **_fields(f, "name", "change_note"))),
    Adder("add_sec_document", "sec-documents/new", forms.SecDocumentForm, "sec_document", "Add an SEC document",
          lambda r, f: authoring.add_sec_document(current_user, r, **_fields(f, "name", "title", "change_note"))),
    Adder("add_cost_item", "costs/new", forms.NewCostItemForm, "cost", "Add a cost", lambda r, f: authoring.add_cost_item(
        current_user, r, **_fields(f, "party", "description", "amount_pence", "qualifier", "change_note"),
        already_budgeted=f.budgeted.data == "yes")),
]


def _adder_view(adder: Adder):
    def view(code: str):
        release = _load_release(code)
        return _author(release, adder.form(), ANCHORS[adder.kind], lambda f: adder.save(release, f), adder.title,
                       f"add-{adder.kind.replace('_', '-')}")
    view.__name__ = adder.endpoint
    return roles_required(Role.SECAS)(view)


for _adder in ADDERS:
    bp.add_url_rule(f"/releases/<code>/{_adder.path}", _adder.endpoint, _adder_view(_adder), methods=["GET", "POST"])


# --- Rows changed with a form: Change Requests, glossary, other Codes, test phases ------------------

@dataclass(frozen=True)
class Editor:
    endpoint: str
    path: str
    rows: str  # the release's collection
    form: type
    kind: str
    title: Callable
    save: Callable  # (release, row, form)
    panel: str = ""  # with htmx, the form takes the place of this element (the section's "Add" link)
    initial: Callable | None = None  # row -> the form's values, when the row's own attributes do not fit


EDITORS = [
    Editor("edit_change_request", "change-requests", "change_requests", forms.ChangeRequestForm, "change_request",
           lambda row: f"Change {row.reference}", lambda r, row, f: authoring.update_change_request(
               current_user, r, row, **_fields(f, "reference", "title", "change_note")),
           panel="add-change-request"),
    Editor("edit_glossary_term", "glossary", "glossary", forms.GlossaryForm, "glossary",
           lambda row: f"Change the glossary entry {row.acronym}", lambda r, row, f: authoring.update_glossary_term(
               current_user, r, row, **_fields(f, "acronym", "term", "change_note")), panel="add-glossary"),
    Editor("edit_other_code_impact", "other-codes", "other_code_impacts", forms.OtherCodeForm, "other_code",
           lambda row: f"Change the impact on {row.code}", lambda r, row, f: authoring.update_other_code_impact(
               current_user, r, row, **_fields(f, "code", "description", "change_note")), panel="add-other-code"),
    Editor("edit_test_phase", "test-phases", "test_phases", forms.TestPhaseForm, "test_phase",
           lambda row: f"Change {row.name} ({row.phase})", lambda r, row, f: authoring.update_test_phase(
               current_user, r, row, applies=f.applies.data == "yes", reason=f.reason.data or "",
               change_note=f.change_note.data),
           panel="edit-test-phase", initial=lambda row: {"applies": "yes" if row.applies else "no", "reason": row.reason}),
]


def _editor_view(editor: Editor):
    def view(code: str, row_id: int):
        release = _load_release(code)
        row = _row_or_404(getattr(release, editor.rows), row_id)
        form = editor.form(**editor.initial(row)) if editor.initial else editor.form(obj=row)
        return _author(release, form, ANCHORS[editor.kind], lambda f: editor.save(release, row, f),
                       editor.title(row), editor.panel or f"edit-{editor.kind.replace('_', '-')}-{row_id}")
    view.__name__ = editor.endpoint
    return roles_required(Role.SECAS)(view)


for _editor in EDITORS:
    bp.add_url_rule(f"/releases/<code>/{_editor.path}/<int:row_id>/edit", _editor.endpoint, _editor_view(_editor),
                    methods=["GET", "POST"])


# --- Rows removed and reordered ----------------------------------------------------------------------

@dataclass(frozen=True)
class Remover:
    endpoint: str
    path: str
    rows: str
    kind: str
    what: Callable  # row -> words for the title
    remove: Callable  # (actor, release, row, change_note)
    move: Callable | None = None  # (actor, release, row, direction, change_note)


REMOVERS = [
    Remover("remove_scope_entry", "scope", "scope", "scope", lambda r: f"{r.mp.reference} from the scope",
            authoring.remove_scope_entry, authoring.move_scope_entry),
    Remover("remove_change_request", "change-requests", "change_requests", "change_request",
            lambda r: f"the Change Request {r.reference}", authoring.remove_change_request,
            authoring.move_change_request),
    Remover("remove_glossary_term", "glossary", "glossary", "glossary", lambda r: f"{r.acronym} from the glossary",
            authoring.remove_glossary_term),
    Remover("remove_other_code_impact", "other-codes", "other_code_impacts", "other_code",
            lambda r: f"the impact on {r.code}", authoring.remove_other_code_impact),
    Remover("remove_impact_summary", "impact-summaries", "impact_summaries", "summary",
            lambda r: f"an impact summary for {r.subject}", authoring.remove_impact_summary),
    Remover("remove_cost_item", "costs", "cost_items", "cost", lambda r: f"the {r.party} cost",
            authoring.remove_cost_item),
    Remover("remove_criterion", "criteria", "criteria", "criterion", lambda r: f"criterion {r.number}",
            authoring.remove_criterion),
    Remover("remove_milestone", "milestones", "milestones", "milestone", lambda r: f"the milestone '{r.event}'",
            authoring.remove_milestone),
]


def _remover_view(remover: Remover):
    def view(code: str, row_id: int):
        release = _load_release(code)
        row = _row_or_404(getattr(release, remover.rows), row_id)
        return _author(release, forms.RemoveForm(), ANCHORS[remover.kind],
                       lambda f: remover.remove(current_user, release, row, f.change_note.data),
                       f"Remove {remover.what(row)}", f"remove-{remover.kind.replace('_', '-')}-{row_id}")
    view.__name__ = remover.endpoint
    return roles_required(Role.SECAS)(view)


def _mover_view(remover: Remover):
    def view(code: str, row_id: int):
        release = _load_release(code)
        row = _row_or_404(getattr(release, remover.rows), row_id)
        form = forms.MoveForm(direction=request.args.get("direction") if request.method == "GET" else None)
        return _author(release, form, ANCHORS[remover.kind],
                       lambda f: remover.move(current_user, release, row, f.direction.data, f.change_note.data),
                       f"Move {remover.what(row).removesuffix(' from the scope')}",
                       f"move-{remover.kind.replace('_', '-')}-{row_id}")
    view.__name__ = remover.endpoint.replace("remove_", "move_")
    return roles_required(Role.SECAS)(view)


for _remover in REMOVERS:
    bp.add_url_rule(f"/releases/<code>/{_remover.path}/<int:row_id>/remove", _remover.endpoint,
                    _remover_view(_remover), methods=["GET", "POST"])
    if _remover.move is not None:
        bp.add_url_rule(f"/releases/<code>/{_remover.path}/<int:row_id>/move",
                        _remover.endpoint.replace("remove_", "move_"), _mover_view(_remover), methods=["GET", "POST"])


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
