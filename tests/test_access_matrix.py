"""Every route declares who may use it, the declaration matches the table below, and the server enforces it.

When you add a route: put `@roles_required(...)` or `@public` right under it, and add its endpoint to EXPECTED.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.access import Role
from portal.audit.models import AuditEvent
from portal.decisions.models import Ballot, Decision, Vote, VoteMember
from portal.extensions import db
from portal.releases.models import Stage
from conftest import PASSWORD, PortalClient
from decisions_support import assess_all, client_for, open_vote, recommend

DECORATOR_REFUSAL = "Your role does not give you access to this page."


@dataclass(frozen=True)
class Persona:
    name: str
    role: Role
    chair: bool = False
    admin: bool = False


PERSONAS = [
    Persona("DCC", Role.DCC),
    Persona("SECAS", Role.SECAS),
    Persona("SECAS admin", Role.SECAS, admin=True),
    Persona("OpsG", Role.OPSG),
    Persona("OpsG chair", Role.OPSG, chair=True),
    Persona("Panel", Role.PANEL),
    Persona("Panel chair", Role.PANEL, chair=True),
]

# Who the access decorator lets in (rules about one object, such as "chair only", live in the services).
PUBLIC = "public"
EVERYONE = frozenset(p.name for p in PERSONAS)
DCC = frozenset({"DCC"})
SECAS = frozenset({"SECAS", "SECAS admin"})
ADMIN = frozenset({"SECAS admin"})
OPSG = frozenset({"OpsG", "OpsG chair"})
PANEL = frozenset({"Panel", "Panel chair"})

EXPECTED: dict[str, frozenset[str] | str] = {
    "audit.portal_trail": ADMIN,
    "audit.release_chain_status": EVERYONE,
    "audit.release_trail": EVERYONE,
    "auth.accept_invitation": PUBLIC,
    "auth.edit_user": ADMIN,
    "auth.forgotten_password": PUBLIC,
    "auth.resend_invitation": ADMIN,
    "auth.reset_link_sent": PUBLIC,
    "auth.reset_password": PUBLIC,
    "auth.revoke_invitation": ADMIN,
    "auth.reset_two_factor": ADMIN,
    "auth.sign_out_everywhere": ADMIN,
    "calendar.create_link": EVERYONE,
    "calendar.feed": PUBLIC,
    "calendar.index": EVERYONE,
    "calendar.release_feed": PUBLIC,
    "calendar.revoke_link": EVERYONE,
    "auth.login": PUBLIC,
    "auth.logout": EVERYONE,
    "auth.new_user": ADMIN,
    "auth.set_password": EVERYONE,
    "auth.users": ADMIN,
    "criteria.answer_request": DCC | SECAS,
    "criteria.ask_again": OPSG,
    "criteria.assess": OPSG,
    "criteria.assessments": EVERYONE,
    "criteria.close_request": OPSG,
    "criteria.grid": EVERYONE,
    "criteria.index": EVERYONE,
    "criteria.open_request": OPSG,
    "criteria.requests": EVERYONE,
    "criteria.show": EVERYONE,
    "decisions.accept_condition": OPSG,
    "decisions.appoint_alternate": PANEL,
    "decisions.condition_file": EVERYONE,
    "decisions.conditions": EVERYONE,
    "decisions.mark_condition_met": DCC | SECAS,
    "decisions.waive_condition": PANEL,
    "decisions.revoke_alternate": PANEL,
    "decisions.cast_vote": PANEL,
    "decisions.close_vote": PANEL,
    "decisions.decision": EVERYONE,
    "decisions.declare_conflict": PANEL,
    "decisions.go_live": DCC | SECAS,
    "decisions.open_vote": PANEL,
    "decisions.reassessment": OPSG,
    "decisions.recommendation": OPSG,
    "decisions.record_decision": PANEL,
    "decisions.replan": SECAS,
    "decisions.vote": EVERYONE,
    "decisions.vote_tally": EVERYONE,
    "document.compare": EVERYONE,
    "document.compare_pdf": EVERYONE,
    "document.live_docx": EVERYONE,
    "document.live_pdf": EVERYONE,
    "document.version_docx": EVERYONE,
    "document.version_pdf": EVERYONE,
    "evidence.check": DCC | SECAS,
    "evidence.download": EVERYONE,
    "evidence.evidence": EVERYONE,
    "evidence.statement": DCC | SECAS,
    "evidence.submit": DCC | SECAS,
    "evidence.upload": DCC | SECAS,
    "evidence.withdraw": DCC | SECAS,
    "notifications.index": EVERYONE,
    "notifications.mark_read": EVERYONE,
    "notifications.outbox": ADMIN,
    "notifications.settings": EVERYONE,
    "ops.healthz": PUBLIC,
    # The go-live notices: published ones are public (list, page, Atom feed); SECAS edits and publishes the draft.
    "notices.index": PUBLIC,
    "notices.show": PUBLIC,
    "notices.feed": PUBLIC,
    "notices.manage": SECAS,
    "notices.publish": SECAS,
    "pack.pack_json": EVERYONE,
    "pack.pack_pdf": EVERYONE,
    "releases.add_criterion": SECAS,
    "releases.add_milestone": SECAS,
    "releases.edit_cost_item": SECAS,
    "releases.edit_criterion": SECAS,
    "releases.edit_document_impacts": SECAS,
    "releases.edit_impact_summary": SECAS,
    "releases.edit_milestone": SECAS,
    "releases.edit_participant_impacts": SECAS,
    "releases.edit_scope_entry": SECAS,
    "releases.index": EVERYONE,
    "lifecycle.new_release": SECAS,
    "rid_import.upload": SECAS,
    "rid_import.review": SECAS,
    "rid_import.confirm": SECAS,
    "lifecycle.move_modification": SECAS,
    "lifecycle.modifications": EVERYONE,
    "calendar.month_view": EVERYONE,
    "releases.my_tasks": EVERYONE,
    "releases.task_count": EVERYONE,
    "releases.rid_version": EVERYONE,
    "releases.show": EVERYONE,
    "releases.baseline": PANEL,
    # SECAS writes the whole RID (portal/releases/authoring_views.py).
    "releases.add_change_request": SECAS,
    "releases.add_cost_item": SECAS,
    "releases.add_glossary_term": SECAS,
    "releases.add_impact_summary": SECAS,
    "releases.add_other_code_impact": SECAS,
    "releases.add_participant_group": SECAS,
    "releases.add_scope_entry": SECAS,
    "releases.add_sec_document": SECAS,
    "releases.add_test_phase": SECAS,
    "releases.edit_change_request": SECAS,
    "releases.edit_glossary_term": SECAS,
    "releases.edit_narrative": SECAS,
    "releases.edit_other_code_impact": SECAS,
    "releases.edit_test_phase": SECAS,
    "releases.edit_participant_group": SECAS,
    "releases.edit_sec_document": SECAS,
    "releases.move_change_request": SECAS,
    "releases.move_cost_item": SECAS,
    "releases.move_glossary_term": SECAS,
    "releases.move_impact_summary": SECAS,
    "releases.move_other_code_impact": SECAS,
    "releases.move_participant_group": SECAS,
    "releases.move_scope_entry": SECAS,
    "releases.move_sec_document": SECAS,
    "releases.move_test_phase": SECAS,
    "releases.remove_participant_group": SECAS,
    "releases.remove_sec_document": SECAS,
    "releases.remove_test_phase": SECAS,
    "releases.remove_change_request": SECAS,
    "releases.remove_cost_item": SECAS,
    "releases.remove_criterion": SECAS,
    "releases.withdraw_criterion": SECAS,
    "releases.remove_glossary_term": SECAS,
    "releases.remove_impact_summary": SECAS,
    "releases.remove_milestone": SECAS,
    "releases.remove_other_code_impact": SECAS,
    "releases.remove_scope_entry": SECAS,
    "totp.disable": EVERYONE,
    "totp.enrol": EVERYONE,
    "totp.login_code": PUBLIC,
    "totp.policy": ADMIN,
    "totp.recovery_codes": EVERYONE,
}

# Values for URL arguments, from the demo release (ids that do not exist give 404, which is fine).
URL_VALUES = {"code": "feb-2021", "number": 1, "request_id": 1, "user_id": 1, "file_id": 1, "row_id": 1,
              "major": 0, "minor": 1, "name": "baseline", "token": "not-a-calendar-token",
              "digest": "0" * 64}
# Signing out ends the persona's session, so it goes last.
LAST = {"auth.logout"}


def _rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    return sorted(rules, key=lambda r: (r.endpoint in LAST, r.endpoint, r.rule))


def _requests(app):
    """(endpoint, method, url) for every rule and method of the app."""
    for rule in _rules(app):
        missing = set(rule.arguments) - set(URL_VALUES)
        assert not missing, f"{rule.rule}: add a sample value for {sorted(missing)} to URL_VALUES in {__file__}"
        url = rule.build({a: URL_VALUES[a] for a in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def _declared(view) -> frozenset[str] | str:
    if view.allowed_roles is None:
        return PUBLIC
    return frozenset(p.name for p in PERSONAS if p.role in view.allowed_roles
                     and (p.admin or not getattr(view, "admin_only", False)))


def _audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


def test_every_route_declares_its_access(app):
    undeclared = [f"{r.rule} ({r.endpoint})" for r in _rules(app)
                  if not hasattr(app.view_functions[r.endpoint], "allowed_roles")]
    assert not undeclared, ("These routes have no access decorator; put @roles_required(...) or @public "
                            f"right under the route decorator: {undeclared}")


def test_every_endpoint_is_in_the_expected_table(app):
    endpoints = {r.endpoint for r in _rules(app)}
    missing = sorted(endpoints - EXPECTED.keys())
    assert not missing, (
        "Add these endpoints to EXPECTED in tests/test_access_matrix.py (who may use them): "
        + "; ".join(f'"{e}": {sorted(_declared(app.view_functions[e])) if _declared(app.view_functions[e]) != PUBLIC else PUBLIC}'
                    for e in missing))
    stale = sorted(EXPECTED.keys() - endpoints)
    assert not stale, f"EXPECTED lists endpoints that no longer exist; remove them: {stale}"


def test_declarations_match_the_expected_table(app):
    wrong = {e: (sorted(EXPECTED[e]) if EXPECTED[e] != PUBLIC else PUBLIC,
                 sorted(d) if (d := _declared(app.view_functions[e])) != PUBLIC else PUBLIC)
             for e in {r.endpoint for r in _rules(app)} & EXPECTED.keys()
             if _declared(app.view_functions[e]) != EXPECTED[e]}
    assert not wrong, f"Decorator and EXPECTED disagree (endpoint: (expected, declared)): {wrong}"


@pytest.fixture
def demo_release(app, make_release):
    """The demo release, on an instance whose evidence store exists (as /healthz requires)."""
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)
    return make_release()


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_anonymous_users_are_sent_to_login(app, demo_release, htmx):
    client = PortalClient(app)
    token = client.csrf_token()
    headers = {"HX-Request": "true"} if htmx else {}
    problems = []
    for endpoint, method, url in _requests(app):
        if endpoint not in EXPECTED:
            continue  # reported by test_every_endpoint_is_in_the_expected_table
        response = client.open(url, method=method, headers=headers,
                               data={"csrf_token": token} if method == "POST" else None)
        if EXPECTED[endpoint] == PUBLIC:
            if response.status_code in (401, 403) or response.status_code >= 500:
                problems.append(f"{method} {url}: public route answered {response.status_code}")
        elif htmx:
            if response.status_code != 401 or not response.headers.get("HX-Redirect", "").startswith("/login"):
                problems.append(f"{method} {url}: expected 401 with HX-Redirect to /login, got {response.status_code}")
        elif response.status_code != 302 or not response.headers["Location"].startswith("/login"):
            problems.append(f"{method} {url}: expected 302 to /login, got {response.status_code}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.name for p in PERSONAS])
def test_each_role_gets_exactly_what_the_table_allows(app, make_user, demo_release, persona):
    client = PortalClient(app)
    client.login(make_user(persona.role, chair=persona.chair, admin=persona.admin))
    token = client.csrf_token()
    problems = []
    for endpoint, method, url in _requests(app):
        if endpoint not in EXPECTED:
            continue
        allowed = EXPECTED[endpoint] == PUBLIC or persona.name in EXPECTED[endpoint]
        before = _audit_count(app)
        response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        status, body = response.status_code, response.get_data().decode(errors="replace")  # PDFs too
        refused_by_decorator = status == 403 and DECORATOR_REFUSAL in body
        if allowed:
            if refused_by_decorator or status == 401 or status >= 500:
                problems.append(f"{method} {url}: {persona.name} is allowed but got {status}")
            elif (status == 302 and response.headers["Location"].startswith("/login")
                  and EXPECTED[endpoint] != PUBLIC):
                problems.append(f"{method} {url}: {persona.name} was sent to the login page")
        else:
            if not refused_by_decorator:
                problems.append(f"{method} {url}: {persona.name} should get the 403 page, got {status}")
            if _audit_count(app) != before:
                problems.append(f"{method} {url}: refused {persona.name} but an audit event was written")
    assert not problems, "\n".join(problems)


def _post_routes(app):
    return [(e, url) for e, method, url in _requests(app) if method == "POST"]


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no-token", "wrong-token"])
@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_every_post_needs_a_valid_csrf_token(app, make_user, demo_release, token, htmx):
    """Without a valid token every POST is refused with 400 and nothing is written."""
    client = PortalClient(app)
    client.login(make_user(Role.SECAS, admin=True))
    before = _audit_count(app)
    problems = []
    for endpoint, url in _post_routes(app):
        headers = {"HX-Request": "true"} if htmx else {}
        data = {}
        if token and htmx:
            headers["X-CSRFToken"] = token
        elif token:
            data["csrf_token"] = token
        response = client.post(url, data=data, headers=headers)
        if response.status_code != 400:
            problems.append(f"POST {url}: expected 400, got {response.status_code}")
    assert not problems, "\n".join(problems)
    assert _audit_count(app) == before
    assert client.get("/").status_code == 200  # still signed in: the refused logout did nothing


# A Panel member who joined after the vote opened is not in its eligibility list. Every decisions route and
# method, with what they get while the vote is open (a route missing here fails the test). "decorator" is the
# role-level 403 page; 403 is the service's refusal ("not an eligible member", "only the chair").
NOT_ELIGIBLE: dict[tuple[str, str], int | str] = {
    ("decisions.accept_condition", "POST"): "decorator",
    ("decisions.condition_file", "GET"): 404,  # the recommendation has no conditions
    ("decisions.conditions", "GET"): 200,
    ("decisions.mark_condition_met", "POST"): "decorator",
    ("decisions.waive_condition", "POST"): 404,
    ("decisions.appoint_alternate", "POST"): 403,
    ("decisions.revoke_alternate", "POST"): 403,
    ("decisions.cast_vote", "POST"): 403,
    ("decisions.close_vote", "POST"): 403,
    ("decisions.decision", "GET"): 200,
    ("decisions.declare_conflict", "POST"): 403,
    ("decisions.go_live", "GET"): "decorator",
    ("decisions.go_live", "POST"): "decorator",
    ("decisions.open_vote", "POST"): 403,
    ("decisions.reassessment", "GET"): "decorator",
    ("decisions.reassessment", "POST"): "decorator",
    ("decisions.recommendation", "GET"): "decorator",
    ("decisions.recommendation", "POST"): "decorator",
    ("decisions.record_decision", "POST"): 403,
    ("decisions.replan", "GET"): "decorator",
    ("decisions.replan", "POST"): "decorator",
    ("decisions.vote", "GET"): 200,
    ("decisions.vote_tally", "GET"): 200,
}


def _vote_state(app) -> tuple:
    """Everything a vote route could write: ballots, seats (alternates, conflicts), the vote, the audit trail."""
    with app.app_context():
        state = (db.session.scalar(sa.select(sa.func.count(Ballot.id))),
                 db.session.scalar(sa.select(sa.func.count(Decision.id))),
                 list(db.session.execute(sa.select(VoteMember.member_id, VoteMember.alternate_id,
                                                   VoteMember.conflict_note).order_by(VoteMember.id))),
                 list(db.session.execute(sa.select(Vote.id, Vote.state))))
    return state + (_audit_count(app),)


def test_a_panel_member_not_eligible_for_the_open_vote_is_refused_and_writes_nothing(app, users, make_release,
                                                                                      make_user):
    release = make_release(Stage.OPSG_REVIEW)
    assess_all(app, release, users["opsg"])
    assert recommend(client_for(app, users["opsg_chair"]), release.code).status_code == 303
    assert open_vote(client_for(app, users["panel_chair"]), release.code).status_code == 303
    latecomer = make_user(Role.PANEL)  # joined after the vote opened
    client = client_for(app, latecomer)
    token = client.csrf_token()
    # Well-formed data for every form, so a refusal comes from the eligibility rule, not from validation.
    data = {"csrf_token": token, "choice": "go", "comment": "", "password": PASSWORD,
            "alternate_id": str(users["panel"].id), "note": "I advise a party to this change.", "reasons": "Agreed.", "closes_at": ""}
    routes = {(e, m): url for e, m, url in _requests(app) if e.startswith("decisions.")}
    assert set(routes) == set(NOT_ELIGIBLE), ("Add the outcome for a Panel member who is not eligible to "
                                              f"NOT_ELIGIBLE: {sorted(set(routes) ^ set(NOT_ELIGIBLE))}")
    urls = {key: url.replace(URL_VALUES["code"], release.code) for key, url in routes.items()}
    # Their own ballot comes from the loop; also try one "for" an eligible member they do not stand in for.
    data["member_id"] = str(latecomer.id)
    attempts = [(key, data) for key in sorted(NOT_ELIGIBLE)]
    attempts.append((("decisions.cast_vote", "POST"), {**data, "member_id": str(users["panel"].id)}))
    before = _vote_state(app)
    problems = []
    for (endpoint, method), form in attempts:
        url = urls[(endpoint, method)]
        response = client.open(url, method=method, data=form if method == "POST" else None)
        body = response.get_data().decode(errors="replace")
        expected = NOT_ELIGIBLE[(endpoint, method)]
        if expected == "decorator":
            ok = response.status_code == 403 and DECORATOR_REFUSAL in body
        else:
            ok = response.status_code == expected and (expected != 403 or DECORATOR_REFUSAL not in body)
        if not ok:
            problems.append(f"{method} {url}: expected {expected}, got {response.status_code}")
        if _vote_state(app) != before:
            problems.append(f"{method} {url}: the ineligible member's request changed the vote or the audit trail")
            before = _vote_state(app)
    assert not problems, "\n".join(problems)
