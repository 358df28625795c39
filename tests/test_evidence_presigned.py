"""Evidence downloads through presigned URLs (S3_PRESIGNED_SECONDS, the S3 backend only), against moto in server
mode: the download answers a redirect to a GET URL for the object's key that makes the store send the same
attachment (name, content type) as a streamed download; the URL is signed for the setting's seconds; whoever may not
download still gets no URL; an object that is missing or was overwritten gets no URL; with the setting at 0, or on
the local folder, the download streams as before.

moto (5.2.5) checks neither the signature nor the expiry of a presigned URL: fetched two seconds after a one-second
URL expired, it still answers 200. So the expiry is asserted on the URL's X-Amz-Expires and X-Amz-Date, the values
the store enforces (and the signature covers)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
import urllib.request
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import sqlalchemy as sa
from flask import send_file

from portal.auth.models import User
from portal.criteria import backends
from portal.criteria.backends import MAX_PRESIGNED_SECONDS, S3Storage, attachment_headers
from portal.extensions import db
from portal.releases.models import Stage
from tests.decisions_support import client_for
from tests.test_conditions import mark_met, recommended  # noqa: F401 - a fixture
from tests.test_evidence_storage import REGION, s3, s3_endpoint  # noqa: F401 - a fixture
from tests.test_evidence_upload import PDF, files, upload

NAME = "Évidence report; v1.pdf"


@pytest.fixture
def presigned_seconds():
    return 60


@pytest.fixture
def storage_kind():
    return "s3"


@pytest.fixture
def app_config(app_config, storage_kind, presigned_seconds, request):
    if storage_kind == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"portal-presigned-{secrets.token_hex(6)}"
        boto3.client("s3", endpoint_url=endpoint, region_name=REGION).create_bucket(
            Bucket=bucket, ObjectLockEnabledForBucket=True, CreateBucketConfiguration={"LocationConstraint": REGION})
        app_config.update(EVIDENCE_STORAGE="s3", S3_BUCKET=bucket, S3_ENDPOINT_URL=endpoint, S3_REGION=REGION,
                          S3_SSE="AES256", S3_OBJECT_LOCK_DAYS=1, S3_PART_MB=5, S3_TIMEOUT=2)
    app_config.update(S3_PRESIGNED_SECONDS=presigned_seconds)
    return app_config


@pytest.fixture
def release(make_release):
    return make_release(Stage.EVIDENCE)


def key_of(row) -> str:
    return f"{row.sha256[:2]}/{row.sha256}"


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query, strict_parsing=True).items()}


def fetch(url: str):
    """GET the URL straight from the store (moto), as the browser would after the redirect."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()


def presign(app, seconds: int) -> None:
    """Change S3_PRESIGNED_SECONDS for the next request (the backend is built once per app)."""
    with app.app_context():
        app.config["S3_PRESIGNED_SECONDS"] = seconds
        app.extensions.pop("evidence_storage", None)


@pytest.fixture
def presigned_calls(monkeypatch) -> list:
    calls = []
    real = S3Storage.presigned_redirect

    def recording(self, *args):
        calls.append(args)
        return real(self, *args)

    monkeypatch.setattr(S3Storage, "presigned_redirect", recording)
    return calls


@pytest.mark.parametrize("content, name, mime", [(PDF, NAME, "application/pdf"),
                                                 ("Résumé of tests\n".encode(), "notes v2.txt", "text/plain")])
@pytest.mark.parametrize("who", ["dcc", "panel"])
def test_the_download_redirects_to_a_presigned_url_the_store_answers_as_the_same_attachment(
        app, client, users, release, who, content, name, mime):
    client.login(users["dcc"])
    assert upload(client, release, 1, content=content, name=name).status_code == 303
    [row] = files(app)
    client.logout()
    client.login(users[who])
    presign(app, 0)
    streamed = client.get(f"/evidence/{row.id}/download")
    assert streamed.status_code == 200 and streamed.data == content
    presign(app, 60)

    response = client.get(f"/evidence/{row.id}/download")

    assert response.status_code == 302
    assert content not in response.data
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    location = response.headers["Location"]
    endpoint, bucket = app.config["S3_ENDPOINT_URL"], app.config["S3_BUCKET"]
    assert location.startswith(f"{endpoint}/{bucket}/{key_of(row)}?")
    params = query(location)
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and params["X-Amz-Expires"] == "60"
    assert params["X-Amz-Signature"] and params["X-Amz-SignedHeaders"] == "host"
    assert params["response-content-disposition"] == streamed.headers["Content-Disposition"]
    assert params["response-content-type"] == streamed.headers["Content-Type"]

    status, headers, body = fetch(location)
    assert status == 200 and body == content and hashlib.sha256(body).hexdigest() == row.sha256
    assert headers["Content-Disposition"] == streamed.headers["Content-Disposition"]
    assert headers["Content-Disposition"].startswith("attachment;")
    assert headers["Content-Type"] == streamed.headers["Content-Type"]
    assert headers["Content-Type"].split(";")[0] == mime
    if name == NAME:
        assert "filename*=UTF-8''%C3%89vidence%20report%3B%20v1.pdf" in headers["Content-Disposition"]
    else:
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert headers["Content-Disposition"] == 'attachment; filename="notes v2.txt"'


@pytest.mark.parametrize("presigned_seconds", [1])
def test_the_url_is_signed_to_expire_after_the_settings_seconds(app, client, users, release):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    [row] = files(app)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    response = client.get(f"/evidence/{row.id}/download")
    after = dt.datetime.now(dt.UTC)
    assert response.status_code == 302
    params = query(response.headers["Location"])
    # What S3 enforces: refused once X-Amz-Date + X-Amz-Expires has passed (moto does not enforce it: see above).
    assert params["X-Amz-Expires"] == "1"
    signed = dt.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    assert before <= signed <= after
    assert params["X-Amz-Credential"].startswith("portal-test/") and f"/{REGION}/s3/" in params["X-Amz-Credential"]


def test_whoever_may_not_download_gets_no_url(app, client, users, release, presigned_calls):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    [row] = files(app)
    assert client.get(f"/evidence/{row.id}/download").status_code == 302 and len(presigned_calls) == 1
    client.logout()
    # Signed out: sent to sign in, not to the store.
    response = client.get(f"/evidence/{row.id}/download")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    assert app.config["S3_ENDPOINT_URL"] not in response.headers["Location"]
    # A session still open when its account is deactivated: the same.
    client.login(users["panel"])
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == users["panel"].id).values(active=False))
        db.session.commit()
    response = client.get(f"/evidence/{row.id}/download")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    # No such file: 404, no URL (the account active again, the same session valid again).
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == users["panel"].id).values(active=True))
        db.session.commit()
    assert client.get(f"/evidence/{row.id + 1000}/download").status_code == 404
    assert client.get(f"/evidence/{row.id}/download").status_code == 302 and len(presigned_calls) == 2


def test_an_overwritten_or_missing_object_gets_no_url(app, client, users, release):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    assert upload(client, release, 2, content=PDF + b"%second\n", name="second.pdf").status_code == 303
    first, second = files(app)
    client_, bucket = s3(app), app.config["S3_BUCKET"]
    # Other bytes put under the key through the S3 API (a new version: the locked one stays).
    client_.put_object(Bucket=bucket, Key=key_of(first), Body=b"%PDF forged")
    response = client.get(f"/evidence/{first.id}/download")
    assert response.status_code == 502 and "Location" not in response.headers
    assert "does not match its SHA-256" in response.get_data(as_text=True)
    # No current version at all (a delete marker on top of the locked version).
    client_.delete_object(Bucket=bucket, Key=key_of(second))
    response = client.get(f"/evidence/{second.id}/download")
    assert response.status_code == 503 and "Location" not in response.headers
    assert "cannot be reached, so the file was not sent" in response.get_data(as_text=True)


def test_a_conditions_file_redirects_the_same_way(app, users, recommended):
    body = b"%PDF-1.4\n% deployment report\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert mark_met(client_for(app, users["dcc"]), recommended.code, 1,
                    file=(io.BytesIO(body), "deployment.pdf")).status_code == 303
    response = client_for(app, users["panel"]).get(f"/releases/{recommended.code}/conditions/1/file")
    assert response.status_code == 302
    location = response.headers["Location"]
    sha256 = hashlib.sha256(body).hexdigest()
    assert location.startswith(f"{app.config['S3_ENDPOINT_URL']}/{app.config['S3_BUCKET']}/{sha256[:2]}/{sha256}?")
    status, headers, fetched = fetch(location)
    assert status == 200 and fetched == body
    assert headers["Content-Disposition"] == 'attachment; filename=deployment.pdf'
    assert headers["Content-Type"] == "application/pdf"


@pytest.mark.parametrize("presigned_seconds", [0])
def test_at_zero_the_download_streams_through_the_portal_as_before(app, client, users, release, presigned_calls):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    [row] = files(app)
    response = client.get(f"/evidence/{row.id}/download")
    assert response.status_code == 200 and response.data == PDF and "Location" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert presigned_calls == []


@pytest.mark.parametrize("storage_kind", ["local"])
def test_the_local_folder_ignores_the_setting(app, client, users, release):
    assert app.config["S3_PRESIGNED_SECONDS"] == 60 and app.config["EVIDENCE_STORAGE"] == "local"
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    [row] = files(app)
    response = client.get(f"/evidence/{row.id}/download")
    assert response.status_code == 200 and response.data == PDF and "Location" not in response.headers


@pytest.mark.parametrize("seconds", [-1, MAX_PRESIGNED_SECONDS + 1])
def test_a_setting_out_of_range_is_refused(seconds):
    with pytest.raises(RuntimeError, match="S3_PRESIGNED_SECONDS must be from 0"):
        S3Storage({"S3_BUCKET": "portal-evidence", "S3_REGION": REGION, "S3_PRESIGNED_SECONDS": seconds})


@pytest.mark.parametrize("name", ["report.pdf", NAME, 'a "quoted" name.pdf', "semi;colon, comma.pdf",
                                  "日本語の資料.docx", "100% done (final).xlsx", "back\\slash'quote.pdf", "ﬁle.pdf"])
@pytest.mark.parametrize("mime", ["application/pdf", "text/csv", "text/plain",
                                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document"])
def test_attachment_headers_are_the_ones_a_streamed_download_sends(app, name, mime):
    with app.test_request_context():
        streamed = send_file(io.BytesIO(b"x"), mimetype=mime, as_attachment=True, download_name=name,
                             conditional=False, etag=False)
        expected = (streamed.headers["Content-Type"], streamed.headers["Content-Disposition"])
        streamed.close()
    assert backends.attachment_headers(mime, name) == attachment_headers(mime, name) == expected
