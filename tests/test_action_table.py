"""Walk the action table (portal/workflow.py) over HTTP: every action, as every role, in and out of its stages.

For each action in `workflow.ACTIONS` a case says how to bring the demo release to a state where the action is
available (`setup`), how to take it over HTTP (`post`: the URL and a valid form), where it is offered (its
`action.page`) and how its form shows there (`marker`). The walk then checks, from the table itself:

1. every role the table refuses (another role; the non-chair where only the chair may; the other owner where
   only the criterion's owner may) gets 403, and nothing changes (no audit event, no row);
2. the page offers the form to the acting user and to nobody the table refuses;
3. in a stage outside `action.stages` the acting user gets 409, nothing changes, and the page offers nothing;
4. the acting user's post succeeds and changes what the case says it changes, with an audit event.

A new action without a case here fails `test_every_action_has_a_case`.
"""
from __future__ import annotations

import io
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import jinja2
import pytest
import sqlalchemy as sa
from flask import url_for
from conftest import CSRF_RE, PASSWORD, PortalClient

from portal import workflow
from portal.access import Role
from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.criteria.models import Assessment, AssessmentKind, AssessmentStatus, EvidenceRequest
from portal.criteria.services import assess_criterion
from portal.decisions.models import (Ballot, Condition, Decision, GoLiveConfirmation, ReassessmentMark, Recommendation, Vote,
                                     VoteMember)
from portal.criteria.evidence_models import EvidenceFile, EvidenceStatement, EvidenceSubmission
from portal.extensions import db
from portal.notices.models import Notice
from portal.tasks import count_tasks, tasks_for
from portal.queries import ReleaseFacts
from portal.releases.models import Criterion, Milestone, Release, RidVersion, Stage

USER_KEYS = ("dcc", "secas", "opsg", "opsg_chair", "panel", "panel_chair")
_pdf_serial = itertools.count(1)


def pdf() -> tuple[io.BytesIO, str]:
    """A small PDF, different each time (the portal refuses the same file twice on one criterion)."""
    body = f"%PDF-1.4\n% walk {next(_pdf_serial)}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".encode()
    return io.BytesIO(body), "walk.pdf"


# --- The world a case acts in ---------------------------------------------------------------------------

@dataclass
class World:
    app: Any
    users: dict
    make_release: Callable
    release: Release | None = None
    clients: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)  # each session's CSRF token, read once after signing in
    ids: dict = field(default_factory=dict)  # what a setup made: criterion, file and request ids

    def client(self, key: str) -> PortalClient:
        if key not in self.clients:
            client = PortalClient(self.app)
            client.login(self.users[key])
            page = client.get("/").get_data(as_text=True)  # any page has the token; this one is light
            self.clients[key], self.tokens[key] = client, CSRF_RE.search(page).group(1)
        return self.clients[key]

    @property
    def code(self) -> str:
        return self.release.code

    def ok(self, response) -> None:
        assert response.status_code in (200, 302, 303), response.get_data(as_text=True)[:800]

    def post(self, key: str, url: str, data: dict | None = None):
        client = self.client(key)
        return client.post_form(url, {"csrf_token": self.tokens[key], **(data or {})}, token=False)

    def criterion_id(self, number: int) -> int:
        with self.app.app_context():
            return db.session.scalar(sa.select(Criterion.id).where(Criterion.release_id == self.release.id,
                                                                  Criterion.number == number))

    def latest_id(self, model) -> int:
        with self.app.app_context():
            return db.session.scalar(sa.select(sa.func.max(model.id)))

    def set_stage(self, stage: Stage) -> None:
        with self.app.app_context():
            db.session.get(Release, self.release.id).stage = stage
            db.session.commit()


class _TemplateCache(jinja2.BytecodeCache):
    """Compiled templates kept across this module's tests (each test builds its own app, and compiling every
    template again is most of a test's time). A template that changes on disk has a new checksum: recompiled."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = _TemplateCache()


@pytest.fixture
def world(app, users, make_user, make_release) -> World:
    app.jinja_env.bytecode_cache = TEMPLATES
    users = dict(users, panel2=make_user(Role.PANEL, name="Panel person two"))  # a third seat, for alternates
    w = World(app, users, make_release)
    for key in USER_KEYS:  # signed in up front: a sign-in is an audit event too
        w.client(key)
    return w


def fingerprint(w: World) -> dict:
    """Everything an action could change, as plain values: audit events, the release, and each workflow table."""
    with w.app.app_context():
        release = db.session.get(Release, w.release.id)

        def rows(*columns, where=()):
            return sorted(tuple(map(str, r)) for r in db.session.execute(sa.select(*columns).where(*where)))

        return {
            "audit": db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
            "release": (str(release.stage), release.round, str(release.planned_go_live), release.sec_version),
            "rid": json.dumps(release.rid_live, sort_keys=True, default=str),
            "rid_versions": rows(RidVersion.id),
            "criteria": rows(Criterion.id, Criterion.text, Criterion.owner_role),
            "milestones": rows(Milestone.id, Milestone.due_on, Milestone.event, Milestone.notes),
            "files": rows(EvidenceFile.id, EvidenceFile.withdrawn_at, EvidenceFile.replaces_id),
            "statements": rows(EvidenceStatement.id, EvidenceStatement.text),
            "submissions": rows(EvidenceSubmission.id),
            "assessments": rows(Assessment.id, Assessment.is_current_final),
            "requests": rows(EvidenceRequest.id, EvidenceRequest.state),
            "recommendations": rows(Recommendation.id, Recommendation.is_current),
            "conditions": rows(Condition.id, Condition.state, Condition.waive_reason),
            "votes": rows(Vote.id, Vote.state),
            "seats": rows(VoteMember.id, VoteMember.alternate_id, VoteMember.conflict_note),
            "ballots": rows(Ballot.id, Ballot.is_current),
            "decisions": rows(Decision.id),
            "confirmations": rows(GoLiveConfirmation.id),
            "reopened": rows(ReassessmentMark.id),
            "notices": rows(Notice.id, Notice.state, Notice.title, Notice.summary),
        }


# --- Set-ups, each building on the one before, through HTTP as the acting users would -------------------

def at(stage: Stage) -> Callable[[World], None]:
    def setup(w: World) -> None:
        w.release = w.make_release(stage)
    return setup


def with_file(w: World) -> None:
    """Evidence: DCC has uploaded a file to its criterion 1."""
    at(Stage.EVIDENCE)(w)
    w.ok(w.post("dcc", f"/releases/{w.code}/criteria/1/evidence",
                {"file": pdf(), "description": "The readiness report"}))
    w.ids["file"] = w.latest_id(EvidenceFile)


def with_dcc_statements(w: World) -> None:
    """Evidence: DCC has written a statement on each of its criteria (1-8), so it can submit."""
    at(Stage.EVIDENCE)(w)
    for number in range(1, 9):
        w.ok(w.post("dcc", f"/releases/{w.code}/criteria/{number}/statement",
                    {"text": f"Evidence for criterion {number}."}))


def with_open_request(w: World) -> None:
    """Evidence: OpsG has asked for more evidence on DCC's criterion 1."""
    at(Stage.EVIDENCE)(w)
    w.ok(w.post("opsg", f"/releases/{w.code}/criteria/1/requests", {"question": "Send the test report."}))
    w.ids["request"] = w.latest_id(EvidenceRequest)


def with_answered_request(w: World) -> None:
    with_open_request(w)
    w.ok(w.post("dcc", f"/releases/{w.code}/criteria/1/requests/{w.ids['request']}/answer",
                {"comment": "Attached to criterion 1."}))


def with_final(w: World) -> None:
    """OpsG review: criterion 1 has its (signed) final assessment."""
    at(Stage.OPSG_REVIEW)(w)
    w.ok(w.post("opsg", f"/releases/{w.code}/criteria/1/assessments",
                {"status": "met", "rationale": "Evidence is sufficient.", "kind": "final", "password": PASSWORD}))


def all_assessed(w: World, not_met: tuple[int, ...] = ()) -> None:
    """OpsG review: every criterion has its final assessment, Met except `not_met` (through the service)."""
    at(Stage.OPSG_REVIEW)(w)
    with w.app.app_context():
        assessor = db.session.get(User, w.users["opsg"].id)
        for criterion in db.session.get(Release, w.release.id).criteria:
            status = AssessmentStatus.NOT_MET if criterion.number in not_met else AssessmentStatus.MET
            assess_criterion(assessor, criterion, status, "Evidence reviewed.", AssessmentKind.FINAL, PASSWORD)
        db.session.commit()


def recommended(w: World, not_met: tuple[int, ...] = ()) -> None:
    all_assessed(w, not_met)
    w.ok(w.post("opsg_chair", f"/releases/{w.code}/recommendation",
                {"kind": "as_planned", "conditions": "", "reasons": "All criteria are met.", "password": PASSWORD}))


def with_conditions(w: World) -> None:
    """OpsG review: OpsG recommends implementing subject to two conditions, 1 for the DCC and 2 for SECAS."""
    all_assessed(w)
    w.ok(w.post("opsg_chair", f"/releases/{w.code}/recommendation",
                {"kind": "with_conditions", "conditions": "Deploy the fix for defect 42.",
                 "secas_conditions": "Brief the SEC Parties.", "reasons": "One defect is open.",
                 "password": PASSWORD}))


def condition_met(w: World) -> None:
    with_conditions(w)
    w.ok(w.post("dcc", f"/releases/{w.code}/conditions/1/met", {"statement": "Deployed on 10 February."}))


def conditions_at_vote(w: World) -> None:
    """Panel vote, with OpsG's two conditions still open."""
    with_conditions(w)
    w.set_stage(Stage.PANEL_VOTE)


def vote_open(w: World, not_met: tuple[int, ...] = ()) -> None:
    """Panel vote: open, three eligible members (panel_chair, panel, panel2), no ballots."""
    recommended(w, not_met)
    w.ok(w.post("panel_chair", f"/releases/{w.code}/vote/open", {"closes_at": ""}))


def ballot(w: World, key: str, choice: str) -> None:
    w.ok(w.post(key, f"/releases/{w.code}/vote/ballot", {"member_id": str(w.users[key].id), "choice": choice,
                                                           "comment": "", "password": PASSWORD}))


def with_alternate(w: World) -> None:
    vote_open(w)
    w.ok(w.post("panel", f"/releases/{w.code}/vote/alternate", {"alternate_id": str(w.users["panel2"].id),
                                                                "confirmed": "yes"}))


def with_quorum(w: World, choice: str = "go", not_met: tuple[int, ...] = ()) -> None:
    vote_open(w, not_met)
    ballot(w, "panel_chair", choice)
    ballot(w, "panel", choice)


def vote_closed(w: World, choice: str = "go", not_met: tuple[int, ...] = ()) -> None:
    with_quorum(w, choice, not_met)
    w.ok(w.post("panel_chair", f"/releases/{w.code}/vote/close", {"confirmed": "yes"}))


def decided(w: World, choice: str, not_met: tuple[int, ...] = ()) -> None:
    vote_closed(w, choice, not_met)
    w.ok(w.post("panel_chair", f"/releases/{w.code}/vote/decision",
                {"reasons": "The Panel agreed.", "password": PASSWORD}))


def approved(w: World) -> None:
    decided(w, "go")
    assert fingerprint(w)["release"][0] == Stage.APPROVED


def deferred(w: World) -> None:
    """Deferred after a No-go; criterion 8 was Not met, so it reopens by itself at the replan."""
    decided(w, "no_go", not_met=(8,))
    assert fingerprint(w)["release"][0] == Stage.DEFERRED


def readiness_confirmed(w: World) -> None:
    approved(w)
    w.ok(w.post("secas", f"/releases/{w.code}/go-live",
                {"kind": "readiness", "sec_version": "", "note": "", "password": PASSWORD}))


def live(w: World) -> None:
    """Live, with the go-live notice drafted by the last confirmation."""
    readiness_confirmed(w)
    w.ok(w.post("secas", f"/releases/{w.code}/go-live",
                {"kind": "sec_implemented", "sec_version": "SEC v40.0", "note": "", "password": PASSWORD}))
    w.ok(w.post("dcc", f"/releases/{w.code}/go-live",
                {"kind": "deployment", "sec_version": "", "note": "", "password": PASSWORD}))
    assert fingerprint(w)["release"][0] == Stage.LIVE


def with_second_release(w: World) -> None:
    """Draft, with a second release (June 2021, from this one) that a modification can move to."""
    import datetime as dt

    from portal.releases.lifecycle import create_release
    from portal.releases.models import ScopeEntry

    at(Stage.DRAFT)(w)
    with w.app.app_context():
        secas = db.session.get(User, w.users["secas"].id)
        target = create_release(secas, code="jun-2021", name="June 2021 SEC Release",
                                planned_go_live=dt.date(2031, 6, 26), sec_version="SEC v41.0",
                                template=db.session.get(Release, w.release.id))
        db.session.commit()
        w.ids["target"] = target.id
        w.ids["entry"] = db.session.scalar(sa.select(sa.func.min(ScopeEntry.id))
                                           .where(ScopeEntry.release_id == w.release.id))


# --- How each form shows on its page -------------------------------------------------------------------

def form(url: str, containing: str = "") -> str:
    """A pattern for a <form> posting to `url` (and holding `containing`, a pattern, before it ends)."""
    pattern = r'<form\b[^>]*\baction="' + re.escape(url) + r'"[^>]*>'
    return pattern + (r"(?:(?!</form>).)*?" + containing if containing else "")


def hidden(name: str, value) -> str:
    return rf'<input\b(?=[^>]*\bname="{name}")(?=[^>]*\bvalue="{value}")[^>]*>'


def radio(name: str, value: str) -> str:
    return rf'<input\b(?=[^>]*\btype="radio")(?=[^>]*\bname="{name}")(?=[^>]*\bvalue="{value}")[^>]*>'


# --- One case per action -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    actor: str  # a user the table allows (the chair, the owner)
    setup: Callable[[World], None]
    post: Callable[[World], tuple[str, dict]]  # a fresh valid form each call (files are streams)
    marker: Callable[[World], str]  # a pattern for its form on the action's page
    changes: tuple[str, ...]  # the fingerprint keys its success must change
    wrong_stage: Stage  # a representative stage outside action.stages
    page_args: Callable[[World], dict] = lambda w: {}
    moves: Stage | None = None  # where its success moves the release (None: the stage stays)


def crit(number: int) -> Callable[[World], dict]:
    return lambda w: {"number": number}


def base(w: World, tail: str = "") -> str:
    return f"/releases/{w.code}{tail}"


def vote_url(w: World, tail: str = "") -> str:
    return base(w, f"/vote{tail}")


def go_live(kind: str, sec_version: str = "") -> Callable[[World], tuple[str, dict]]:
    return lambda w: (base(w, "/go-live"), {"kind": kind, "sec_version": sec_version, "note": "",
                                            "password": PASSWORD})


def req(w: World, tail: str) -> str:
    return base(w, f"/criteria/1/requests/{w.ids['request']}/{tail}")


CASES = [
    Case("baseline", "panel_chair", at(Stage.DRAFT),
         lambda w: (base(w, "/baseline"), {"meeting_on": ["14", "10", "2020"], "minute_ref": "84/03"}),
         lambda w: form(base(w, "/baseline")),
         ("release", "rid_versions"), Stage.EVIDENCE, moves=Stage.EVIDENCE),
    Case("edit_rid", "secas", at(Stage.DRAFT),
         lambda w: (base(w, f"/criteria/{w.criterion_id(1)}/edit"),
                    {"text": "The DCC has brought every component to readiness.", "owner_role": "dcc"}),
         lambda w: r'<a\b[^>]*\bhref="' + re.escape(base(w, f"/criteria/{w.criterion_id(1)}/edit")) + '"',
         ("criteria", "rid"), Stage.LIVE),
    Case("move_modification", "secas", with_second_release,
         lambda w: (base(w, f"/scope/{w.ids['entry']}/move"),
                    {"target_id": str(w.ids["target"]), "change_note": "Moved to the June release."}),
         lambda w: form(base(w, f"/scope/{w.ids['entry']}/move")),
         ("rid",), Stage.LIVE, lambda w: {"row_id": w.ids["entry"]}),
    # Evidence: DCC owns criteria 1-8, SECAS 9 and 10
    Case("upload_evidence", "dcc", at(Stage.EVIDENCE),
         lambda w: (base(w, "/criteria/1/evidence"), {"file": pdf(), "description": "Test report"}),
         lambda w: r'<form\b[^>]*\bid="upload-form"[^>]*\baction="' + re.escape(base(w, "/criteria/1/evidence")) + '"',
         ("files",), Stage.PANEL_VOTE, crit(1)),
    Case("write_statement", "secas", at(Stage.EVIDENCE),
         lambda w: (base(w, "/criteria/9/statement"), {"text": "SECAS is ready to implement."}),
         lambda w: form(base(w, "/criteria/9/statement")),
         ("statements",), Stage.PANEL_VOTE, crit(9)),
    Case("replace_evidence", "dcc", with_file,
         lambda w: (base(w, "/criteria/1/evidence"), {"file": pdf(), "description": "Updated report",
                                                      "replaces": str(w.ids["file"])}),
         lambda w: form(base(w, "/criteria/1/evidence"), hidden("replaces", w.ids["file"])),
         ("files",), Stage.PANEL_VOTE, crit(1)),
    Case("withdraw_evidence", "dcc", with_file,
         lambda w: (f"/evidence/{w.ids['file']}/withdraw", {"reason": "Superseded."}),
         lambda w: form(f"/evidence/{w.ids['file']}/withdraw"),
         ("files",), Stage.PANEL_VOTE, crit(1)),
    Case("submit_evidence", "dcc", with_dcc_statements,
         lambda w: (base(w, "/evidence/submit"), {}),
         lambda w: form(base(w, "/evidence/submit")),
         ("submissions",), Stage.OPSG_REVIEW),
    Case("answer_request", "dcc", with_open_request,
         lambda w: (req(w, "answer"), {"comment": "The report is on criterion 1."}),
         lambda w: form(req(w, "answer")),
         ("requests",), Stage.PANEL_VOTE, crit(1)),
    # OpsG review
    Case("assess_preliminary", "opsg", at(Stage.EVIDENCE),
         lambda w: (base(w, "/criteria/1/assessments"),
                    {"status": "partially_met", "rationale": "Progressing.", "kind": "preliminary"}),
         lambda w: form(base(w, "/criteria/1/assessments"), radio("kind", "preliminary")),
         ("assessments",), Stage.PANEL_VOTE, crit(1)),
    Case("assess_final", "opsg", at(Stage.OPSG_REVIEW),
         lambda w: (base(w, "/criteria/1/assessments"),
                    {"status": "met", "rationale": "Evidence is sufficient.", "kind": "final", "password": PASSWORD}),
         lambda w: form(base(w, "/criteria/1/assessments"), radio("kind", "final")),
         ("assessments",), Stage.EVIDENCE, crit(1)),
    Case("revise_final", "opsg", with_final,
         lambda w: (base(w, "/criteria/1/assessments"),
                    {"status": "partially_met", "rationale": "A defect was found.", "kind": "final",
                     "revision_reason": "A late defect report.", "password": PASSWORD}),
         lambda w: form(base(w, "/criteria/1/assessments"), r'name="revision_reason"'),
         ("assessments",), Stage.EVIDENCE, crit(1)),
    Case("request_evidence", "opsg", at(Stage.EVIDENCE),
         lambda w: (base(w, "/criteria/1/requests"), {"question": "Send the test report."}),
         lambda w: form(base(w, "/criteria/1/requests")),
         ("requests",), Stage.PANEL_VOTE, crit(1)),
    Case("close_request", "opsg", with_answered_request,
         lambda w: (req(w, "close"), {}),
         lambda w: form(req(w, "close")),
         ("requests",), Stage.PANEL_VOTE, crit(1)),
    Case("ask_again", "opsg", with_answered_request,
         lambda w: (req(w, "again"), {"question": "And the defect log, please."}),
         lambda w: form(req(w, "again")),
         ("requests",), Stage.PANEL_VOTE, crit(1)),
    Case("reopen_criteria", "opsg", deferred,
         lambda w: (base(w, "/reassessment"), {"criteria": [str(w.criterion_id(3))]}),
         lambda w: form(base(w, "/reassessment"), r'name="criteria"'),
         ("reopened", "assessments"), Stage.OPSG_REVIEW),
    Case("record_recommendation", "opsg_chair", all_assessed,
         lambda w: (base(w, "/recommendation"), {"kind": "as_planned", "conditions": "",
                                                 "reasons": "All criteria are met.", "password": PASSWORD}),
         lambda w: form(base(w, "/recommendation"), r'name="reasons"'),
         ("recommendations",), Stage.PANEL_VOTE),
    # The Panel
    Case("open_vote", "panel_chair", recommended,
         lambda w: (vote_url(w, "/open"), {"closes_at": ""}),
         lambda w: form(vote_url(w, "/open")),
         ("votes", "release"), Stage.EVIDENCE, moves=Stage.PANEL_VOTE),
    Case("appoint_alternate", "panel", vote_open,
         lambda w: (vote_url(w, "/alternate"), {"alternate_id": str(w.users["panel2"].id), "confirmed": "yes"}),
         lambda w: form(vote_url(w, "/alternate")),
         ("seats",), Stage.APPROVED),
    Case("revoke_alternate", "panel", with_alternate,
         lambda w: (vote_url(w, "/alternate/revoke"), {"confirmed": "yes"}),
         lambda w: form(vote_url(w, "/alternate/revoke")),
         ("seats",), Stage.APPROVED),
    Case("declare_conflict", "panel", vote_open,
         lambda w: (vote_url(w, "/conflict"), {"note": "I work for the DCC's supplier.", "confirmed": "yes"}),
         lambda w: form(vote_url(w, "/conflict")),
         ("seats",), Stage.APPROVED),
    Case("cast_ballot", "panel", vote_open,
         lambda w: (vote_url(w, "/ballot"), {"member_id": str(w.users["panel"].id), "choice": "go",
                                             "comment": "", "password": PASSWORD}),
         lambda w: form(vote_url(w, "/ballot"), hidden("member_id", w.users["panel"].id)),
         ("ballots",), Stage.APPROVED),
    Case("close_vote", "panel_chair", with_quorum,
         lambda w: (vote_url(w, "/close"), {"confirmed": "yes"}),
         lambda w: form(vote_url(w, "/close")),
         ("votes",), Stage.APPROVED),
    Case("record_decision", "panel_chair", vote_closed,
         lambda w: (vote_url(w, "/decision"), {"reasons": "The Panel agreed.", "password": PASSWORD}),
         lambda w: form(vote_url(w, "/decision")),
         ("decisions", "release"), Stage.APPROVED, moves=Stage.APPROVED),
    # Conditions
    Case("mark_condition_met", "dcc", with_conditions,
         lambda w: (base(w, "/conditions/1/met"), {"statement": "Deployed on 10 February.", "file": pdf()}),
         lambda w: form(base(w, "/conditions/1/met")),
         ("conditions",), Stage.EVIDENCE),
    Case("accept_condition", "opsg", condition_met,
         lambda w: (base(w, "/conditions/1/accept"), {}),
         lambda w: form(base(w, "/conditions/1/accept")),
         ("conditions",), Stage.EVIDENCE),
    Case("waive_condition", "panel_chair", conditions_at_vote,
         lambda w: (base(w, "/conditions/2/waive"), {"reason": "SECAS briefs the parties at go-live."}),
         lambda w: form(base(w, "/conditions/2/waive")),
         ("conditions",), Stage.OPSG_REVIEW),
    # Go-live
    Case("confirm_readiness", "secas", approved, go_live("readiness"),
         lambda w: form(base(w, "/go-live"), hidden("kind", "readiness")),
         ("confirmations",), Stage.LIVE),
    Case("confirm_sec_implemented", "secas", readiness_confirmed, go_live("sec_implemented", "SEC v40.0"),
         lambda w: form(base(w, "/go-live"), hidden("kind", "sec_implemented")),
         ("confirmations", "release"), Stage.LIVE),
    Case("confirm_deployment", "dcc", readiness_confirmed, go_live("deployment"),
         lambda w: form(base(w, "/go-live"), hidden("kind", "deployment")),
         ("confirmations",), Stage.LIVE),
    # The go-live notice
    Case("edit_notice", "secas", live,
         lambda w: (base(w, "/notice"), {"title": "SEC version 40.0 designated – February 2021 SEC Release",
                                         "summary": "SEC version 40.0 is designated."}),
         lambda w: form(base(w, "/notice"), r'name="title"'),
         ("notices",), Stage.APPROVED),
    Case("publish_notice", "secas", live,
         lambda w: (base(w, "/notice/publish"), {"confirmed": "yes"}),
         lambda w: form(base(w, "/notice/publish")),
         ("notices",), Stage.APPROVED),
    # No-go
    Case("replan", "secas", deferred,
         lambda w: (base(w, "/replan"), {"new_go_live": ["25", "3", "2021"],
                                         "change_note": "Deferred after the Panel's No-go."}),
         lambda w: form(base(w, "/replan"), r'name="change_note"'),
         ("release", "rid_versions", "reopened"), Stage.APPROVED, moves=Stage.EVIDENCE),
]
BY_NAME = {case.name: case for case in CASES}


def test_every_action_has_a_case():
    assert len(BY_NAME) == len(CASES), "two cases for one action"
    assert set(BY_NAME) == set(workflow.BY_NAME), (
        f"actions without a case: {sorted(set(workflow.BY_NAME) - set(BY_NAME))}; "
        f"cases without an action: {sorted(set(BY_NAME) - set(workflow.BY_NAME))}")
    for case in CASES:
        assert case.wrong_stage not in workflow.BY_NAME[case.name].stages, case.name


def allowed(action: workflow.Action, user, owner: Role) -> bool:
    """What the table says of this user (the release's state aside): their role, the chair, the owner."""
    return (user.role in action.roles and (user.is_chair or not action.chair_only)
            and (user.role == owner or not action.owner_only))


def _page(w: World, key: str, case: Case, expect_ok: bool) -> str:
    """The action's page as `key` sees it ('' when the page itself refuses them)."""
    with w.app.test_request_context():
        url = url_for(workflow.BY_NAME[case.name].page, code=w.code, **case.page_args(w))
    response = w.client(key).get(url)
    if expect_ok:
        assert response.status_code == 200, (key, url, response.status_code)
    else:
        assert response.status_code in (200, 403), (key, url, response.status_code)
    return response.get_data(as_text=True) if response.status_code == 200 else ""


def _offered(w: World, key: str, case: Case, expect_ok: bool = False) -> bool:
    return re.search(case.marker(w), _page(w, key, case, expect_ok), re.S) is not None


def _changed(before: dict, after: dict) -> set[str]:
    return {key for key in before if before[key] != after[key]}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_action_over_http(world, case):
    w, action = world, workflow.BY_NAME[case.name]
    case.setup(w)
    actor = w.users[case.actor]
    assert allowed(action, actor, actor.role) and actor.role in action.roles
    refused = [key for key in USER_KEYS if not allowed(action, w.users[key], actor.role)]
    assert refused, "every action is refused to some role"
    before = fingerprint(w)

    # (1) Every role the table refuses: 403, nothing changed; (2) its page offers them nothing.
    for key in refused:
        url, data = case.post(w)
        response = w.post(key, url, data)
        assert response.status_code == 403, (key, response.status_code, response.get_data(as_text=True)[:500])
        assert fingerprint(w) == before, f"{key}'s refused {case.name} changed {_changed(before, fingerprint(w))}"
        offered = _offered(w, key, case)
        assert not offered, f"{case.name} offered to {key}, whom the table refuses"

    # (2) The acting user is offered it where the table says.
    offered = _offered(w, case.actor, case, expect_ok=True)
    assert offered, f"{case.name} not offered to {case.actor}"

    # (3) Outside the action's stages: 409 for the acting user, nothing changed, nothing offered.
    w.set_stage(case.wrong_stage)
    moved = fingerprint(w)
    url, data = case.post(w)
    response = w.post(case.actor, url, data)
    assert response.status_code == 409, (case.wrong_stage, response.status_code,
                                         response.get_data(as_text=True)[:500])
    assert fingerprint(w) == moved, f"{case.name} at {case.wrong_stage} changed {_changed(moved, fingerprint(w))}"
    offered = _offered(w, case.actor, case)
    assert not offered, f"{case.name} offered to {case.actor} at {case.wrong_stage}"
    w.set_stage(Stage(before["release"][0]))
    assert fingerprint(w) == before

    # (4) The acting user, in an allowed stage: success, the state changed, with an audit event.
    url, data = case.post(w)
    response = w.post(case.actor, url, data)
    assert response.status_code in (200, 303), (response.status_code, response.get_data(as_text=True)[:800])
    after = fingerprint(w)
    assert after["audit"] > before["audit"], f"{case.name} left no audit event"
    missing = set(case.changes) - _changed(before, after)
    assert not missing, f"{case.name} did not change {missing}"
    assert after["release"][0] == (case.moves or before["release"][0]), f"the stage after {case.name}"
    assert case.moves is None or case.moves in action.moves_to, f"{case.name} may not move to {case.moves}"


SETUPS = list({case.setup: case for case in CASES}.values())  # each distinct situation once


@pytest.mark.parametrize("case", SETUPS, ids=[case.name for case in SETUPS])
def test_tasks_are_the_available_actions_the_process_waits_on(world, case):
    """My tasks lists its tasks without building the blocked offers: it must list exactly what the buttons
    would (every available action the process waits on), for every user, in every situation of the walk."""
    w = world
    case.setup(w)
    someone = False
    with w.app.app_context():
        for key in USER_KEYS:
            user = db.session.get(User, w.users[key].id)
            facts = ReleaseFacts(db.session.get(Release, w.release.id))
            listed = [(o.name, o.label, o.subject) for o in workflow.available_actions(facts, user)
                      if o.reason is None and o.waits]
            assert [(o.name, o.label, o.subject) for o in workflow.tasks_of(facts, user)] == listed, key
            someone = someone or bool(listed)
    assert someone, "in every situation of the walk, the process waits on someone"


@pytest.mark.parametrize("case", SETUPS, ids=[case.name for case in SETUPS])
def test_the_header_count_is_the_number_of_tasks_listed(world, case):
    """The header's "My tasks (N)" counts without dating the tasks: N is the length of My tasks' list, for every
    user, in every situation of the walk."""
    w = world
    case.setup(w)
    for key in USER_KEYS:
        with w.app.app_context():
            user = db.session.get(User, w.users[key].id)
            assert count_tasks(user) == len(tasks_for(user)), key
