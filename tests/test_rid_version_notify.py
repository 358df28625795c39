"""Everyone on a release hears of a new RID version: the baseline with its own message, each later version with
its change note and an absolute link to it; a draft version tells nobody."""
from __future__ import annotations

import sqlalchemy as sa
from decisions_support import client_for

from portal.extensions import db
from portal.notifications.models import Notification, OutboxMessage
from portal.releases.models import Criterion


def _subjects(app, model, where) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(model.subject).where(where).order_by(model.id)))


def _edit_criterion(app, client, release, change_note: str, text: str):
    with app.app_context():
        criterion_id = db.session.scalar(sa.select(Criterion.id).filter_by(release_id=release.id, number=1))
    return client.post_form(f"/releases/{release.code}/criteria/{criterion_id}/edit",
                            {"text": text, "owner_role": "dcc",
                             "change_note": change_note})


def test_draft_changes_tell_nobody_the_baseline_and_later_versions_tell_everyone(app, users, make_release):
    release = make_release()
    secas = client_for(app, users["secas"])
    assert _edit_criterion(app, secas, release, "", "Reworded in draft.").status_code == 303  # draft: no version, no message
    assert _subjects(app, Notification, Notification.kind == "rid_version_issued") == []
    response = client_for(app, users["panel_chair"]).post_form(
        f"/releases/{release.code}/baseline", {"meeting_on": ["14", "10", "2020"], "minute_ref": "84/03"})
    assert response.status_code == 303
    for user in users.values():
        assert _subjects(app, Notification, Notification.user_id == user.id) == \
            ["February 2021 SEC Release: RID baselined as version 1.0"]
    assert _edit_criterion(app, secas, release, "Criterion 1 reworded after the TAG meeting.",
                           "Reworded after the baseline.").status_code == 303
    for user in users.values():
        assert _subjects(app, Notification, Notification.user_id == user.id)[-1] == \
            "February 2021 SEC Release: RID version 1.1 issued"
        with app.app_context():
            [mail] = db.session.scalars(sa.select(OutboxMessage).where(
                OutboxMessage.to == user.email, OutboxMessage.subject.contains("version 1.1"))).all()
            assert "What changed: Criterion 1 reworded after the TAG meeting." in mail.body
            assert "http://localhost/releases/feb-2021/rid/1.1" in mail.body


def test_a_new_release_s_first_draft_tells_nobody(app, users):
    secas = client_for(app, users["secas"])
    response = secas.post_form("/new-release", {"template_id": "0", "code": "jun-2031", "name": "June 2031",
                                                "planned_go_live": ["26", "6", "2031"], "sec_version": "SEC v41.0"})
    assert response.status_code == 303
    assert _subjects(app, Notification, Notification.kind == "rid_version_issued") == []
