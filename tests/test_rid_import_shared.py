"""A RID import that brings a participant group or SEC document new to the portal changes the matrices' shared axes,
so every other baselined RID gets a new version with a change note and audit event, as when SECAS adds one."""
from __future__ import annotations

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.extensions import db
from portal.releases.models import ParticipantGroup, Release, SecDocument, Stage
from portal.rid_import.reader import read_rid
from portal.rid_import.services import import_rid_version
from test_rid_import_reader import FEB_2021
from test_rid_reorder import other_release, versions


def _import(app, secas_id: int, *, groups=(), documents=()) -> None:
    """Import the February 2021 RID into its draft, with `groups` (ticked for MP092) and `documents` added."""
    with app.test_request_context():
        reading = read_rid(FEB_2021.name, FEB_2021.read_bytes())
        for name in groups:
            reading.rid["participant_groups"].append({"name": name})
            reading.rid["participant_impacts"].append(("MP092", name))
        for name, title in documents:
            reading.rid["sec_documents"].append({"name": name, "title": title})
            reading.rid["document_impacts"].append(("MP092", name))
        release = db.session.scalar(sa.select(Release).filter_by(code="feb-2021"))
        import_rid_version(db.session.get(User, secas_id), release, reading, filename="rid.txt")
        db.session.commit()


def test_an_import_adding_a_group_issues_a_version_in_every_other_baselined_rid(app, users, make_release):
    make_release()
    june = other_release(app, "jun-2027", "June 2027 SEC Release", Stage.EVIDENCE)
    live = other_release(app, "nov-2026", "November 2026 SEC Release", Stage.LIVE)
    live_before = versions(app, live)
    baselined = [("0.1", "First draft"), ("1.0", "Baselined by the SEC Panel.")]

    # The document's groups and documents are the portal's already: the other RIDs do not change.
    _import(app, users["secas"].id)
    assert versions(app, june) == baselined

    _import(app, users["secas"].id, groups=["Gas Transporters"], documents=[("Section Z", "Testing")])
    group_note = ("Participant group Gas Transporters added by importing rid.txt into the RID of "
                  "February 2021 SEC Release")
    document_note = "SEC document Section Z added by importing rid.txt into the RID of February 2021 SEC Release"
    assert versions(app, june) == [*baselined, ("1.1", group_note), ("1.2", document_note)]
    assert versions(app, live) == live_before  # a live release's versions are its record
    with app.app_context():
        feb = db.session.scalar(sa.select(Release).filter_by(code="feb-2021"))
        assert [v.number for v in feb.rid_versions] == ["0.1", "0.2", "0.3"]  # the draft: one version an import
        group = db.session.scalar(sa.select(ParticipantGroup).filter_by(name="Gas Transporters"))
        assert db.session.scalar(sa.select(SecDocument).filter_by(name="Section Z")).title == "Testing"
        assert "Gas Transporters" in [g["name"] for g in feb.current_rid.snapshot["participant_groups"]]
        june_rid = db.session.get(Release, june).current_rid
        assert "Gas Transporters" in [g["name"] for g in june_rid.snapshot["participant_groups"]]
        assert "Section Z" in [d["name"] for d in june_rid.snapshot["sec_documents"]]
        event = db.session.scalars(sa.select(AuditEvent).filter_by(action="rid.participant_group_added")).one()
        assert event.release_id == feb.id and event.object_id == group.id
        assert event.actor_id == users["secas"].id
        assert event.summary == "Participant group Gas Transporters added; new RID version in June 2027 SEC Release"
        assert event.details["releases"] == ["feb-2021", "jun-2027"]
        assert event.details["versions_in"] == ["jun-2027"]
        assert event.details["note"] == group_note
        assert db.session.scalars(sa.select(AuditEvent.summary).filter_by(
            release_id=june, action="rid.version_issued")).all()[-2:] == [
            f"RID version 1.1 issued: {group_note}", f"RID version 1.2 issued: {document_note}"]
