"""Set-up steps shared by the decision tests: assessments, recommendation, vote, as the acting users would."""
from __future__ import annotations

import sqlalchemy as sa
from conftest import PASSWORD, PortalClient

from portal.auth.models import User
from portal.criteria.models import AssessmentKind, AssessmentStatus
from portal.criteria.services import assess_criterion
from portal.extensions import db
from portal.releases.models import Release


def client_for(app, user) -> PortalClient:
    """A separate test client signed in as `user` (each user keeps their own session)."""
    client = PortalClient(app)
    client.login(user)
    return client


def assess_all(app, release, opsg_user) -> None:
    """OpsG's final assessment of every criterion, through the criteria service (release in OpsG review)."""
    with app.app_context():
        actor = db.session.get(User, opsg_user.id)
        for criterion in db.session.get(Release, release.id).criteria:
            assess_criterion(actor, criterion, AssessmentStatus.MET, "Evidence reviewed.", AssessmentKind.FINAL,
                             PASSWORD)
        db.session.commit()


def recommend(client, code: str, kind: str = "as_planned", conditions: str = "", password: str = PASSWORD):
    return client.post_form(f"/releases/{code}/recommendation",
                            {"kind": kind, "conditions": conditions, "reasons": "All criteria are met.",
                             "password": password})


def open_vote(client, code: str, closes_at: str = ""):
    return client.post_form(f"/releases/{code}/vote/open", {"closes_at": closes_at})


def cast(client, code: str, member, choice: str = "go", password: str = PASSWORD, **kw):
    return client.post_form(f"/releases/{code}/vote/ballot",
                            {"member_id": str(member.id), "choice": choice, "comment": kw.pop("comment", ""),
                             "password": password}, **kw)


def close(client, code: str):
    """The chair closes the vote, from its confirmation page (the first post only shows who has not voted)."""
    return client.post_form(f"/releases/{code}/vote/close", {"confirmed": "yes"})


def decide(client, code: str, reasons: str = "The Panel agreed.", password: str = PASSWORD):
    return client.post_form(f"/releases/{code}/vote/decision", {"reasons": reasons, "password": password})


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def stage_of(app, release):
    with app.app_context():
        return db.session.get(Release, release.id).stage


def decided(app, users, release, panel, choices=("go", "go", "go")):
    """From OpsG review to a recorded Panel decision, through HTTP; `panel` members vote `choices` in order."""
    assess_all(app, release, users["opsg"])
    assert recommend(client_for(app, users["opsg_chair"]), release.code).status_code == 303
    chair = client_for(app, users["panel_chair"])
    assert open_vote(chair, release.code).status_code == 303
    for member, choice in zip(panel, choices):
        assert cast(client_for(app, member), release.code, member, choice).status_code == 303
    assert close(chair, release.code).status_code == 303
    assert decide(chair, release.code).status_code == 303
    return release


def confirm(client, code: str, kind: str, sec_version: str = "", password: str = PASSWORD):
    return client.post_form(f"/releases/{code}/go-live", {"kind": kind, "sec_version": sec_version, "note": "",
                                                         "password": password})
