"""SECAS uploads a RID document, checks what was read beside the document's lines, and confirms; nothing is saved
before the confirmation, a bad file is refused with the reason in the error summary (422), and the staged upload is
checked against its SHA-256 when confirmed."""
from __future__ import annotations

import io
import re

import sqlalchemy as sa

from decisions_support import client_for
from portal.audit.models import AuditEvent
from portal.document.render import render_pdf, version_document
from portal.extensions import db
from portal.releases.models import Release
from test_rid_import_reader import FEB_2021


def _upload(client, data: bytes, filename: str, **fields):
    return client.post_form("/import-rid", {"file": (io.BytesIO(data), filename), "target": "", "code": "",
                                            **fields}, content_type="multipart/form-data")


def _codes(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Release.code).order_by(Release.code)))


def test_upload_review_and_confirm_create_the_release(app, users):
    secas = client_for(app, users["secas"])
    assert "Import a RID document" in secas.get("/").get_data(as_text=True)
    response = _upload(secas, FEB_2021.read_bytes(), FEB_2021.name)
    assert response.status_code == 303
    review = response.headers["Location"]
    assert re.search(r"/import-rid/[0-9a-f]{64}$", review)
    assert _codes(app) == []  # nothing saved yet
    page = secas.get(review).get_data(as_text=True)
    assert "Every line of the document was placed in the RID." in page
    assert "MP092 ‘New Planned Maintenance methodology’ (targeted)" in page
    assert "line 24: • MP092 ‘New Planned Maintenance methodology’ proposes to incorporate the DCC’s new" in page
    assert "creates the release <strong>February 2021 SEC Release</strong> (feb-2021)" in page
    assert _codes(app) == []

    confirmed = secas.post_form(review + "/confirm")
    assert confirmed.status_code == 303 and confirmed.headers["Location"].endswith("/releases/feb-2021")
    assert _codes(app) == ["feb-2021"]
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "release.imported"))
        assert event.actor_id == users["secas"].id
    assert secas.post_form(review + "/confirm").status_code == 404  # the staged upload is gone


def test_a_published_pdf_imports_as_the_next_version_of_a_draft(app, users, make_release):
    release = make_release()
    with app.app_context():
        release = db.session.get(Release, release.id)
        pdf = render_pdf(version_document(release, release.rid_versions[0]))
    secas = client_for(app, users["secas"])
    response = _upload(secas, pdf, "rid-feb-2021-v0.1.pdf", target="feb-2021")
    assert response.status_code == 303
    page = secas.get(response.headers["Location"]).get_data(as_text=True)
    assert "replaces the RID of February 2021 SEC Release" in page
    assert secas.post_form(response.headers["Location"] + "/confirm").status_code == 303
    with app.app_context():
        release = db.session.get(Release, release.id)
        assert [v.number for v in release.rid_versions] == ["0.1", "0.2"]
        assert release.rid_versions[1].change_note == "Imported from rid-feb-2021-v0.1.pdf"


def test_a_file_that_is_not_a_rid_is_refused_with_422_and_the_reason(app, users):
    secas = client_for(app, users["secas"])
    for data, name, reason in [(b"Shopping list\n", "list.txt", "The file does not read as a RID"),
                               (b"%PDF-1.4 garbage", "scan.pdf", "The PDF is damaged and cannot be read")]:
        response = _upload(secas, data, name)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "There is a problem" in page and reason in page and 'href="#file"' in page
    response = secas.post_form("/import-rid", {"target": ""}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a RID document" in response.get_data(as_text=True)
    assert _codes(app) == []


def test_confirming_needs_the_csrf_token_and_the_untouched_upload(app, users):
    secas = client_for(app, users["secas"])
    review = _upload(secas, FEB_2021.read_bytes(), FEB_2021.name).headers["Location"]
    assert secas.post_form(review + "/confirm", token=False).status_code == 400
    digest = review.rsplit("/", 1)[1]
    from portal.rid_import.models import StagedRid
    with app.app_context():  # the staged bytes altered behind the portal's back
        staged = db.session.scalar(sa.select(StagedRid).where(StagedRid.sha256 == digest))
        staged.data = staged.data.replace(b"MP092", b"MP093")
        db.session.commit()
    assert secas.post_form(review + "/confirm").status_code == 404
    assert _codes(app) == []


def test_another_secas_user_cannot_confirm_my_upload(app, users, make_user):
    from portal.access import Role
    secas = client_for(app, users["secas"])
    review = _upload(secas, FEB_2021.read_bytes(), FEB_2021.name).headers["Location"]
    other = client_for(app, make_user(Role.SECAS))
    assert other.get(review).status_code == 404
    assert other.post_form(review + "/confirm").status_code == 404


def test_the_review_says_before_confirming_why_the_rid_cannot_be_saved(app, users, make_release):
    make_release()  # the demo release already has feb-2021 and the four MPs in its scope
    secas = client_for(app, users["secas"])
    review = _upload(secas, FEB_2021.read_bytes(), FEB_2021.name).headers["Location"]
    page = secas.get(review).get_data(as_text=True)
    assert "There is a problem" in page
    assert "A release with the code feb-2021 already exists." in page
    assert "Confirm and save" not in page
    review = _upload(secas, FEB_2021.read_bytes(), FEB_2021.name, code="feb-2021-again").headers["Location"]
    page = secas.get(review).get_data(as_text=True)
    assert "MP092 is already in the scope of February 2021 SEC Release" in page
    assert secas.post_form(review + "/confirm").status_code == 409
    assert _codes(app) == ["feb-2021"]


def test_a_file_over_the_limit_is_refused_without_reading_it_all(app, users):
    from portal.rid_import.extract import LIMITS
    secas = client_for(app, users["secas"])
    response = _upload(secas, b"%PDF-1.4\n" + b"0" * LIMITS["bytes"], "scan.pdf")
    assert response.status_code == 422
    assert "a RID document must be at most 20 MB" in response.get_data(as_text=True)


def test_the_review_and_the_confirmation_may_be_served_by_another_host(app, app_config, users, tmp_path):
    """Staged in the database, not on the uploading host's disk: a second app with its own upload folder (another
    host) shows the review and confirms it, once."""
    from config import TestConfig
    from portal import create_app
    other_host = create_app(type("OtherHost", (TestConfig,), {**app_config, "UPLOAD_FOLDER": str(tmp_path / "h2")}))
    review = _upload(client_for(app, users["secas"]), FEB_2021.read_bytes(), FEB_2021.name).headers["Location"]
    secas_on_2 = client_for(other_host, users["secas"])
    assert "MP092" in secas_on_2.get(review).get_data(as_text=True)
    assert secas_on_2.post_form(review + "/confirm").status_code == 303
    assert _codes(app) == ["feb-2021"]
    assert secas_on_2.post_form(review + "/confirm").status_code == 404  # imported once, then gone


def test_an_upload_staged_over_a_day_ago_and_never_confirmed_goes(app, users):
    import datetime as dt
    from portal.rid_import.models import StagedRid
    secas = client_for(app, users["secas"])
    review = _upload(secas, FEB_2021.read_bytes(), FEB_2021.name).headers["Location"]
    with app.app_context():
        staged = db.session.scalar(sa.select(StagedRid))
        staged.created_at -= dt.timedelta(days=1, minutes=1)
        db.session.commit()
    assert secas.get(review).status_code == 200  # still there until the next upload
    fresh = _upload(secas, FEB_2021.read_bytes() + b"\n", FEB_2021.name).headers["Location"]
    assert secas.get(review).status_code == 404 and secas.get(fresh).status_code == 200
