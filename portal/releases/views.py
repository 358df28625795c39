"""Release list, release page, my tasks; SECAS edits the RID, the Panel chair baselines it."""
from itertools import groupby

import sqlalchemy as sa
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload, undefer

from ..access import Invalid, Role, roles_required
from ..criteria.services import readiness_grid
from ..decisions.services import decision_summary
from ..document.services import stored_document
from ..extensions import db, htmx
from ..ids import bounded_int
from ..notices.services import notice_link
from ..notifications.services import unread_count
from ..queries import ReleaseFacts
from ..tasks import count_tasks, tasks_for
from ..workflow import portal_offers, refusal, require
from . import authoring, forms, lifecycle, rid_live, services
from .models import MilestoneKind, Release, RidVersion, ScopeStatus, SecDocument
from .rid_view import IN_SCOPE, find_row, rid_view
from .snapshot import participant_groups

bp = Blueprint("releases", __name__)


RELEASES_PER_PAGE = 50  # the list grows by three releases a year, so it is paged


@bp.get("/")
@roles_required(*Role)
def index():
    page = max(request.args.get("page", 1, type=bounded_int), 1)
    releases = db.session.scalars(sa.select(Release).order_by(Release.planned_go_live.desc(), Release.id.desc())
                                  .offset((page - 1) * RELEASES_PER_PAGE).limit(RELEASES_PER_PAGE + 1)
                                  .options(selectinload(Release.milestones))).all()
    rows = [(release, services.next_milestone(release)) for release in releases[:RELEASES_PER_PAGE]]
    years = [(year, list(group)) for year, group in groupby(rows, key=lambda row: row[0].planned_go_live.year)]
    links = {"newer": url_for("releases.index", page=page - 1) if page > 1 else None,
             "older": url_for("releases.index", page=page + 1) if len(releases) > RELEASES_PER_PAGE else None}
    template = "releases/_release_list.html" if htmx else "releases/index.html"
    return render_template(template, rows=rows, years=years, links=links, portal_actions=portal_offers(current_user))


@bp.get("/releases/<code>")
@roles_required(*Role)
def show(code: str):
    # The RID comes from Release.rid_live; only what the page computes with is loaded as rows.
    release = services.release_or_404(code, undefer(Release.rid_live), joinedload(Release.notice), *(
        selectinload(rel) for rel in (Release.milestones, Release.criteria, Release.rid_versions)))
    grid = readiness_grid(release)
    facts = ReleaseFacts(release)
    return render_template("releases/show.html", **_rid_context(release, answered=grid.answered),
                           next_milestone=services.next_milestone(release), grid=grid,
                           decision=decision_summary(release, current_user, facts),
                           notice_link=notice_link(facts, current_user))


@bp.get("/tasks")
@roles_required(*Role)
def my_tasks():
    tasks = tasks_for(current_user)
    return render_template("releases/tasks.html", tasks=tasks, task_count=len(tasks))


@bp.get("/tasks/count")
@roles_required(*Role)
def task_count():
    """The header's "(N)" after "My tasks": loaded by htmx after the page, so no page pays for the tasks' queries,
    and again after each htmx step, with the notifications' count (out of band)."""
    return render_template("releases/_task_count.html", task_count=count_tasks(current_user),
                           refresh_notifications=True, notification_count=unread_count(current_user))


# --- The release page and its RID ------------------------------------------------------------------

def _load_release(code: str) -> Release:
    """The release with every RID section loaded up front, so the page's queries do not grow with its rows."""
    return services.release_or_404(code, *rid_live.rid_sections(), selectinload(Release.rid_versions))


def _rid_context(release: Release, *, picture: bool = True, answered: frozenset[int] | None = None) -> dict:
    """What the RID section templates need for the live RID (kept on the release, see rid_live.py); the timeline's
    picture only where the answer draws it (the page, the whole RID, the timeline section)."""
    rid = rid_view(release.rid_live or services.rid_snapshot(release))
    marks = services.timeline_marks(release)
    editable = services.can_edit_rid(release, current_user)
    return {"release": release, "rid": rid, "marks": marks,
            "picture": services.timeline_picture(rid["milestones"], marks) if picture else None,
            "editable": editable, "baselined": services.needs_change_note(release),
            # The matrices' shared axes ask for a change note once any RID they change is baselined.
            "shared_baselined": editable and services.needs_change_note(release, shared=True),
            "answered": (answered if answered is not None else authoring.answered_criteria(release))
            if editable else set()}


@bp.route("/releases/<code>/baseline", methods=["GET", "POST"])
@roles_required(Role.PANEL)
def baseline(code: str):
    """The Panel chair baselines the RID, naming the Panel meeting and its minute: this cannot be undone."""
    release = _load_release(code)
    if request.method == "POST":
        require("baseline", release, current_user)  # a refused chair or stage before any validation
    form = forms.BaselineForm()
    problem = None
    if form.validate_on_submit():
        try:
            version = services.baseline_rid(current_user, release, meeting_on=form.meeting_on.data,
                                            minute_ref=form.minute_ref.data)
        except Invalid as err:
            db.session.rollback()
            problem = [{"text": err.message, "href": f"#{err.field or 'minute_ref'}"}]
        else:
            db.session.commit()
            flash(f"RID version {version.number} is the baseline. The release is now at '{release.stage.label}'.",
                  "success")
            return redirect(url_for("releases.show", code=code), code=303)
    status = 422 if form.errors or problem else 200
    return render_template("releases/baseline.html", release=release, form=form, problem=problem,
                           refused=refusal("baseline", ReleaseFacts(release), current_user)), status


@bp.get("/releases/<code>/rid/<int:major>.<int:minor>")
@roles_required(*Role)
def rid_version(code: str, major: int, minor: int):
    release = services.release_or_404(code)
    version = db.first_or_404(sa.select(RidVersion).filter_by(release_id=release.id, major=major, minor=minor))
    rid = rid_view(version.snapshot) if version.snapshot else None
    versions = [v for v in release.rid_versions if (v.major, v.minor) <= (version.major, version.minor)]
    return render_template("releases/rid_version.html", release=release, version=version, rid=rid,
                           versions=versions, marks={}, editable=False, baselined=False,
                           document=stored_document(version))


# --- SECAS edits the RID: each row's form is a fragment for htmx and a page without JavaScript ------

# kind → (template returned after a save, id of the section it replaces or None for the row itself, columns)
RID_PARTS = {
    "scope": ("releases/_scope.html", "rid-scope", 5),
    "milestone": ("releases/_timeline.html", "rid-timeline-section", 6),
    "summary": ("releases/_impact_summaries.html", "rid-impact-summaries", 2),
    "criterion": ("releases/_criteria.html", "rid-criteria", 4),
    "cost": ("releases/_costs.html", "rid-costs", 4),
    "participant": ("releases/_participant_row.html", None, 7),
    "document": ("releases/_document_impacts.html", "rid-document-impacts", 6),
}


def _row_or_404(rows, row_id: int):
    return next((row for row in rows if row.id == row_id), None) or abort(404)


def _form_ok(form: forms.RidChangeForm, release: Release) -> bool:
    ok = form.validate()
    if services.needs_change_note(release) and not (form.change_note.data or "").strip():
        form.change_note.errors = [*form.change_note.errors,
                                   "Enter a change note: the RID is baselined, so this change makes a new version"]
        ok = False
    return ok


def _flash_saved(release: Release) -> None:
    """The one success message of every RID change (with htmx, shown by portal/refresh.py)."""
    version = f" The RID is now version {release.current_rid.number}." if services.needs_change_note(release) \
        and release.current_rid else ""
    flash(f"Your change to the RID is saved.{version}", "success")


def _try_save(form: forms.RidChangeForm, release: Release, save) -> tuple[bool, list, object]:
    """Validate and call one service through `save`, committing if it succeeds: (saved, problem, what save gave).
    A rule the service refuses with Invalid comes back on the form, against its field, or (no field) as the
    problem for the error summary; nothing is stored."""
    if not _form_ok(form, release):
        return False, [], None
    try:
        result = save(form)
    except Invalid as err:
        db.session.rollback()
        field = getattr(form, err.field, None) if err.field else None
        if field is None:
            return False, [{"text": err.message, "href": "#main-content"}], None
        field.errors = [*field.errors, err.message]
        return False, [], None
    db.session.commit()
    return True, [], result


def _saved(code: str, kind: str, row_id: int):
    release = _load_release(code)
    _flash_saved(release)
    if not htmx:
        return redirect(url_for("releases.show", code=code, _anchor=f"{kind}-{row_id}"), code=303)
    template, section_id, _columns = RID_PARTS[kind]
    context = _rid_context(release, picture=template == "releases/_timeline.html")
    if section_id is None:
        return render_template(template, item=find_row(context["rid"], kind, row_id), **context)
    response = make_response(render_template(template, **context))
    response.headers.update({"HX-Retarget": f"#{section_id}", "HX-Reswap": "outerHTML"})
    return response


def _edit_rid(release: Release, form: forms.RidChangeForm, kind: str, row_id: int | None, save, title: str):
    """GET shows the form; POST validates, calls one service through `save`, commits and answers."""
    require("edit_rid", release, current_user)
    status, problem = 200, []
    if request.method == "POST":
        saved, problem, new_id = _try_save(form, release, save)
        if saved:
            return _saved(release.code, kind, new_id or row_id)
        status = 422
    if htmx and row_id:
        return render_template("releases/_rid_edit_form.html", release=release, form=form, kind=kind, row_id=row_id,
                               problem=problem, baselined=services.needs_change_note(release),
                               columns=RID_PARTS[kind][2]), status
    return render_template("releases/author.html", release=release, form=form, title=title, problem=problem,
                           anchor=f"{kind}-{row_id}" if row_id else None,
                           baselined=services.needs_change_note(release)), status


@bp.route("/releases/<code>/scope/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_scope_entry(code: str, row_id: int):
    release = _load_release(code)
    entry = _row_or_404(release.scope, row_id)
    form = forms.ScopeEntryForm(obj=entry)
    others = db.session.scalars(sa.select(Release).where(Release.id != release.id).order_by(Release.planned_go_live))
    form.moved_to_id.choices = [("", "Not moved")] + [(str(r.id), r.name) for r in others]

    def save(f):
        moved_to = db.session.get(Release, f.moved_to_id.data) if f.moved_to_id.data else None
        if f.status.data == ScopeStatus.MOVED and moved_to is not None and entry.status in IN_SCOPE:
            lifecycle.move_modification(current_user, entry, release, moved_to, f.change_note.data or "")
            return
        services.update_scope_entry(current_user, release, entry, status=ScopeStatus(f.status.data),
                                    cutoff_date=f.cutoff_date.data, summary=f.summary.data, moved_to=moved_to,
                                    change_note=f.change_note.data)
    return _edit_rid(release, form, "scope", row_id, save, f"Change {entry.mp.reference} in the scope")


@bp.route("/releases/<code>/milestones/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_milestone(code: str, row_id: int):
    release = _load_release(code)
    milestone = _row_or_404(release.milestones, row_id)
    form = forms.MilestoneForm(obj=milestone)

    def save(f):
        services.update_milestone(current_user, release, milestone, due_on=f.due_on.data, event=f.event.data,
                                  notes=f.notes.data or "", acting_role=Role(f.acting_role.data),
                                  change_note=f.change_note.data)
    return _edit_rid(release, form, "milestone", row_id, save, f"Change the milestone '{milestone.event}'")


@bp.route("/releases/<code>/milestones/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_milestone(code: str):
    release = _load_release(code)
    form = forms.NewMilestoneForm()

    def save(f):
        return services.add_milestone(current_user, release, kind=MilestoneKind(f.kind.data), due_on=f.due_on.data,
                                      event=f.event.data, notes=f.notes.data or "",
                                      acting_role=Role(f.acting_role.data), change_note=f.change_note.data).id
    return _edit_rid(release, form, "milestone", None, save, "Add a milestone")


@bp.route("/releases/<code>/criteria/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_criterion(code: str, row_id: int):
    release = _load_release(code)
    criterion = _row_or_404(release.criteria, row_id)
    form = forms.CriterionForm(obj=criterion)

    def save(f):
        services.update_criterion(current_user, release, criterion, text=f.text.data,
                                  owner_role=Role(f.owner_role.data), change_note=f.change_note.data)
    return _edit_rid(release, form, "criterion", row_id, save, f"Change criterion {criterion.number}")


@bp.route("/releases/<code>/criteria/new", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def add_criterion(code: str):
    release = _load_release(code)
    form = forms.CriterionForm()

    def save(f):
        return services.add_criterion(current_user, release, text=f.text.data, owner_role=Role(f.owner_role.data),
                                      change_note=f.change_note.data).id
    return _edit_rid(release, form, "criterion", None, save, "Add an acceptance criterion")


@bp.route("/releases/<code>/costs/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_cost_item(code: str, row_id: int):
    release = _load_release(code)
    item = _row_or_404(release.cost_items, row_id)
    form = forms.CostItemForm(obj=item, budgeted="yes" if item.already_budgeted else "no")

    def save(f):
        services.update_cost_item(current_user, release, item, party=f.party.data, description=f.description.data,
                                  amount_pence=f.amount_pence.data, qualifier=f.qualifier.data or None,
                                  already_budgeted={"yes": True, "no": False}.get(f.budgeted.data),
                                  change_note=f.change_note.data)
    return _edit_rid(release, form, "cost", row_id, save, f"Change the {item.party} cost")


@bp.route("/releases/<code>/impact-summaries/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_impact_summary(code: str, row_id: int):
    release = _load_release(code)
    summary = _row_or_404(release.impact_summaries, row_id)
    form = forms.ImpactSummaryForm(obj=summary)

    def save(f):
        services.update_impact_summary(current_user, release, summary, text=f.text.data,
                                       change_note=f.change_note.data)
    return _edit_rid(release, form, "summary", row_id, save, f"Change an impact summary for {summary.subject}")


@bp.route("/releases/<code>/participant-impacts/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_participant_impacts(code: str, row_id: int):
    release = _load_release(code)
    entry = _row_or_404(release.scope, row_id)
    groups = participant_groups()
    ticked = [p.group_id for p in release.participant_impacts if p.mp_id == entry.mp_id]
    form = forms.TicksForm(ticked=ticked)
    form.ticked.label.text = f"Participants impacted by {entry.mp.reference}"
    form.ticked.choices = [(g.id, g.name) for g in groups]

    def save(f):
        services.set_participant_impacts(current_user, release, entry, set(f.ticked.data),
                                         change_note=f.change_note.data)
    return _edit_rid(release, form, "participant", row_id, save, f"Change who {entry.mp.reference} impacts")


@bp.route("/releases/<code>/document-impacts/<int:row_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SECAS)
def edit_document_impacts(code: str, row_id: int):
    release = _load_release(code)
    document = db.get_or_404(SecDocument, row_id)
    in_scope = [e for e in release.scope if e.status in (ScopeStatus.APPROVED, ScopeStatus.TARGETED)]
    ticked = [d.mp_id for d in release.document_impacts if d.document_id == document.id]
    form = forms.TicksForm(ticked=ticked)
    form.ticked.label.text = f"Modifications that change {document.name}"
    form.ticked.choices = [(e.mp_id, e.mp.reference) for e in in_scope]

    def save(f):
        services.set_document_impacts(current_user, release, document, set(f.ticked.data),
                                      change_note=f.change_note.data)
    return _edit_rid(release, form, "document", row_id, save, f"Change which modifications update {document.name}")
