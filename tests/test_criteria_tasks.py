"""My tasks from evidence and assessments, as each role sees them (the page itself belongs to releases)."""
from __future__ import annotations

from portal.auth.models import User
from portal.extensions import db
from portal.releases.models import Stage
from portal.tasks import tasks_for
from tests.test_criteria_requests import ask
from tests.test_evidence_upload import upload


def titles(app, user) -> list[str]:
    with app.app_context():
        return [t.title for t in tasks_for(db.session.get(User, user.id))]


def test_owner_tasks_list_missing_evidence_and_open_requests(app, client, users, make_release):
    release = make_release(Stage.EVIDENCE)
    assert "Add evidence for criterion 1" in titles(app, users["dcc"])
    assert "Add evidence for criterion 9" not in titles(app, users["dcc"])
    client.login(users["dcc"])
    upload(client, release, 1)
    assert "Add evidence for criterion 1" not in titles(app, users["dcc"])
    assert "Add evidence for criterion 2" in titles(app, users["dcc"])
    assert {"Add evidence for criterion 9", "Add evidence for criterion 10"} <= set(titles(app, users["secas"]))
    client.logout()
    client.login(users["opsg"])
    ask(client, release, number=9)
    assert "Answer OpsG's evidence request on criterion 9" in titles(app, users["secas"])
    assert titles(app, users["panel"]) == [] or not any("criterion" in t for t in titles(app, users["panel"]))


def test_opsg_tasks_list_criteria_awaiting_assessment(app, users, make_release):
    make_release(Stage.OPSG_REVIEW)
    assert {"Assess criterion 1", "Assess criterion 10"} <= set(titles(app, users["opsg"]))
    assert not any("Assess" in t for t in titles(app, users["panel"]))
