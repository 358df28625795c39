"""The transition table walked exhaustively through workflow.apply_transition, with each guard satisfied:
the allowed role succeeds; every other role, and the allowed role at every other stage, is refused."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import PASSWORD

from portal.access import Conflict, PermissionDenied
from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.decisions.models import (ConfirmationKind, Decision, GoLiveConfirmation, Outcome, Recommendation,
                                     RecommendationKind, Vote, VoteState)
from portal.evidence import services as evidence_services
from portal.extensions import db
from portal.releases import workflow
from portal.releases.models import Release, Stage
from portal.signatures import sign

KINDS = ("dcc", "secas", "opsg", "opsg_chair", "panel", "panel_chair")


def _signed(user) -> int:
    return sign(user, PASSWORD, "test set-up", {}).id


def _decided(release: Release, chair: User, outcome: Outcome, *, planned_go_live=None) -> Decision:
    vote = Vote(release_id=release.id, round=1, chair_id=chair.id, state=VoteState.CLOSED, outcome=outcome)
    db.session.add(vote)
    db.session.flush()
    decision = Decision(release_id=release.id, round=1, vote_id=vote.id, outcome=outcome, reasons="Set-up.",
                        planned_go_live=planned_go_live or release.planned_go_live, recorded_by_id=chair.id,
                        signature_id=_signed(chair))
    db.session.add(decision)
    db.session.flush()
    return decision


def satisfy_guard(name: str, release: Release, people: dict[str, User], monkeypatch) -> None:
    """Put in place exactly what transition `name`'s guard asks for."""
    chair = people["panel_chair"]
    if name == "start_opsg_review":
        # The evidence engineer's guard: every owner has submitted (their own tests cover submission).
        monkeypatch.setattr(evidence_services, "roles_waiting_to_submit", lambda _release: [])
    elif name == "open_vote":
        db.session.add(Recommendation(release_id=release.id, round=1, kind=RecommendationKind.AS_PLANNED,
                                      reasons="Set-up.", recorded_by_id=people["opsg_chair"].id,
                                      signature_id=_signed(people["opsg_chair"])))
    elif name in ("decide_go", "decide_no_go"):
        _decided(release, chair, Outcome.GO if name == "decide_go" else Outcome.NO_GO)
    elif name == "go_live":
        decision = _decided(release, chair, Outcome.GO)
        secas = people["secas"]
        for kind in ConfirmationKind:
            db.session.add(GoLiveConfirmation(release_id=release.id, decision_id=decision.id, kind=kind,
                                              confirmed_by_id=secas.id, signature_id=_signed(secas)))
    elif name == "replan":
        _decided(release, chair, Outcome.NO_GO, planned_go_live=release.planned_go_live.replace(year=2020))
    db.session.flush()


def _allowed(transition: workflow.Transition, user: User) -> bool:
    return user.role in transition.roles and (user.is_chair or not transition.chair_only)


def _setup(app, users, make_release, stage: Stage, name: str, monkeypatch) -> int:
    """The demo release at `stage` with transition `name`'s guard satisfied; returns its id."""
    release_id = make_release(stage).id
    with app.app_context():
        people = {k: db.session.get(User, u.id) for k, u in users.items()}
        satisfy_guard(name, db.session.get(Release, release_id), people, monkeypatch)
        db.session.commit()
    return release_id


def _events() -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("transition", workflow.TRANSITIONS, ids=lambda t: t.name)
def test_each_role_at_the_source_stage(app, users, make_release, monkeypatch, transition, kind):
    release_id = _setup(app, users, make_release, transition.source, transition.name, monkeypatch)
    with app.app_context():
        release = db.session.get(Release, release_id)
        actor = db.session.get(User, users[kind].id)
        events = _events()
        if _allowed(transition, actor):
            workflow.apply_transition(release, transition.name, actor)
            db.session.commit()
            assert db.session.get(Release, release_id).stage == transition.target
            assert _events() == events + 1
        else:
            with pytest.raises((PermissionDenied, Conflict)) as refused:
                workflow.apply_transition(release, transition.name, actor)
            if actor.role not in transition.roles:
                assert refused.type is PermissionDenied
            db.session.rollback()
            assert db.session.get(Release, release_id).stage == transition.source
            assert _events() == events


@pytest.mark.parametrize("transition", workflow.TRANSITIONS, ids=lambda t: t.name)
def test_the_allowed_role_at_every_other_stage_is_refused(app, users, make_release, monkeypatch, transition):
    kind = next(k for k in KINDS if _allowed(transition, users[k]))
    release_id = _setup(app, users, make_release, transition.source, transition.name, monkeypatch)
    for stage in Stage:
        if stage == transition.source:
            continue
        with app.app_context():
            db.session.execute(sa.update(Release).where(Release.id == release_id).values(stage=stage))
            db.session.commit()
            events = _events()
            with pytest.raises(Conflict):
                workflow.apply_transition(db.session.get(Release, release_id), transition.name,
                                          db.session.get(User, users[kind].id))
            db.session.rollback()
            assert db.session.get(Release, release_id).stage == stage
            assert _events() == events
