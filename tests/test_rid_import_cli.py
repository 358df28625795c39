"""`flask rid import FILE [--release CODE] [--dry-run] [--json]`: a dry run prints what was read and saves nothing;
otherwise a new release, or a new RID version of a draft; anything else refused with a message."""
from __future__ import annotations

import json

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.releases.models import Release, Stage
from portal.releases.snapshot import rid_snapshot
from portal.rid_import.reader import comparable, read_rid
from test_rid_import_reader import FEB_2021


def _releases(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Release.code)))


def test_a_dry_run_prints_the_rid_as_json_and_saves_nothing(app):
    result = app.test_cli_runner().invoke(args=["rid", "import", str(FEB_2021), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["warnings"] == []
    assert [e["mp"] for e in data["rid"]["scope"]] == ["MP092", "MP095", "MP111", "MP122"]
    assert data["rid"]["criteria"][9]["owner_role"] == "secas"
    assert data["rid_versions"][0]["number"] == "0.1"
    assert _releases(app) == []


def test_the_february_2021_rid_becomes_a_new_draft_release(app):
    result = app.test_cli_runner().invoke(args=["rid", "import", str(FEB_2021)])
    assert result.exit_code == 0, result.output
    assert "Created February 2021 SEC Release (feb-2021)" in result.output
    with app.app_context():
        release = db.session.scalar(sa.select(Release).where(Release.code == "feb-2021"))
        assert release.stage == Stage.DRAFT
        assert [(v.number, v.issued_on.isoformat()) for v in release.rid_versions] == [("0.1", "2020-08-07")]
        reading = read_rid(FEB_2021.name, FEB_2021.read_bytes())
        saved = comparable(rid_snapshot(release))
        expected = dict(reading.rid, release={k: v for k, v in reading.rid["release"].items() if k != "code"})
        assert saved == dict(expected, scope=[dict(e, url="") for e in expected["scope"]])
        assert release.scope[0].mp.url.endswith("/new-planned-maintenance-methodology/")
        assert release.rid_versions[-1].snapshot == json.loads(json.dumps(rid_snapshot(release)))
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "release.imported")) is not None


def test_importing_into_a_release_past_draft_is_refused(app, make_release):
    make_release(Stage.EVIDENCE)
    result = app.test_cli_runner().invoke(args=["rid", "import", str(FEB_2021), "--release", "feb-2021"])
    assert result.exit_code == 1
    assert "past its draft" in result.output
    with app.app_context():
        release = db.session.scalar(sa.select(Release).where(Release.code == "feb-2021"))
        assert [v.number for v in release.rid_versions] == ["0.1"]


def test_a_file_that_is_not_a_rid_is_refused_and_nothing_saved(app, tmp_path):
    bad = tmp_path / "minutes.txt"
    bad.write_text("Minutes of the meeting\n\nNothing to report.\n")
    result = app.test_cli_runner().invoke(args=["rid", "import", str(bad)])
    assert result.exit_code == 1
    assert "minutes.txt: The file does not read as a RID" in result.output
    assert _releases(app) == []


def test_a_published_pdf_becomes_the_next_rid_version_of_the_draft(app, make_release, tmp_path):
    from portal.document.render import render_pdf, version_document
    make_release()
    with app.app_context():
        release = db.session.scalar(sa.select(Release).where(Release.code == "feb-2021"))
        pdf = tmp_path / "rid-feb-2021-v0.1.pdf"
        pdf.write_bytes(render_pdf(version_document(release, release.rid_versions[0])))
    result = app.test_cli_runner().invoke(args=["rid", "import", str(pdf), "--release", "feb-2021"])
    assert result.exit_code == 0, result.output
    assert "RID version 0.2 imported from rid-feb-2021-v0.1.pdf" in result.output
    with app.app_context():
        release = db.session.scalar(sa.select(Release).where(Release.code == "feb-2021"))
        first, second = (comparable(v.snapshot) for v in release.rid_versions)
        assert first == second
