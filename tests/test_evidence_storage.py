"""Evidence storage behind one interface: the same upload and download tests against the local folder and against
S3 (moto in server mode, speaking the S3 protocol over HTTP on a loopback port, started here), plus what only the
object store does: multipart parts, encryption, Object Lock refusing a delete, aborted multipart uploads, a
corrupted object refused on download, the store unreachable."""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto.server import ThreadedMotoServer

from portal.criteria import storage
from portal.criteria.backends import backend
from portal.criteria.cli import clean_uploads
from portal.releases.models import Stage
from tests.test_evidence_interrupted import BOUNDARY, BrokenStream, multipart_body
from tests.test_evidence_upload import PDF, events, files, upload, url
from tests.test_trust_backup import target_app  # noqa: F401 - a fixture

REGION = "eu-west-2"


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on a free loopback port, for this module's tests (each gets its own bucket)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "portal-test")
        env.setenv("AWS_SECRET_ACCESS_KEY", "portal-test-secret")
        env.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
        server.stop()


@pytest.fixture(params=["local", "s3"])
def backend_kind(request):
    return request.param


@pytest.fixture
def app_config(app_config, backend_kind, request):
    if backend_kind == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"portal-evidence-{secrets.token_hex(6)}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True,
                             CreateBucketConfiguration={"LocationConstraint": REGION})
        app_config.update(EVIDENCE_STORAGE="s3", S3_BUCKET=bucket, S3_ENDPOINT_URL=endpoint, S3_REGION=REGION,
                          S3_SSE="AES256", S3_OBJECT_LOCK_DAYS=1, S3_PART_MB=5, S3_TIMEOUT=2)
    return app_config


@pytest.fixture
def release(make_release):
    return make_release(Stage.EVIDENCE)


def s3(app):
    return boto3.client("s3", endpoint_url=app.config["S3_ENDPOINT_URL"], region_name=REGION)


def stored(app) -> dict[str, bytes]:
    """What the portal's store holds that a download would read: file or current object name -> bytes."""
    if app.config["EVIDENCE_STORAGE"] == "s3":
        client, bucket = s3(app), app.config["S3_BUCKET"]
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
    folder = Path(app.config["UPLOAD_FOLDER"])
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.relative_to(folder).parts[0] != storage.TMP_DIR}


def incomplete_uploads(app) -> list[str]:
    if app.config["EVIDENCE_STORAGE"] != "s3":
        return []
    return [u["Key"] for u in s3(app).list_multipart_uploads(Bucket=app.config["S3_BUCKET"]).get("Uploads", [])]


def temps(app) -> list:
    folder = Path(app.config["UPLOAD_FOLDER"]) / storage.TMP_DIR
    return sorted(folder.glob(storage.TMP_PREFIX + "*")) if folder.exists() else []


# --- The same tests on both backends ----------------------------------------------------------------

def test_upload_then_byte_identical_download(app, client, users, release):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    [row] = files(app)
    digest = hashlib.sha256(PDF).hexdigest()
    assert row.sha256 == digest and row.size == len(PDF)
    assert stored(app) == {f"{digest[:2]}/{digest}": PDF}  # keyed by hash
    response = client.get(f"/evidence/{row.id}/download")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment;") and "report.pdf" in \
        response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"] == "application/pdf"
    assert int(response.headers["Content-Length"]) == len(PDF)
    assert events(app, "evidence.") == ["evidence.upload"] and temps(app) == []


def test_large_file_goes_up_in_parts_and_comes_back_identical(app, client, users, release):
    content = PDF + os.urandom(11 * 1024 * 1024)  # three 5 MB parts on S3
    client.login(users["dcc"])
    assert upload(client, release, 1, content=content, name="big.pdf").status_code == 303
    [row] = files(app)
    assert row.sha256 == hashlib.sha256(content).hexdigest()
    assert list(stored(app).values()) == [content]
    response = client.get(f"/evidence/{row.id}/download")
    assert response.status_code == 200 and hashlib.sha256(response.data).hexdigest() == row.sha256
    if app.config["EVIDENCE_STORAGE"] == "s3":
        head = s3(app).head_object(Bucket=app.config["S3_BUCKET"], Key=f"{row.sha256[:2]}/{row.sha256}")
        assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    assert incomplete_uploads(app) == [] and temps(app) == []


def test_the_same_file_twice_is_stored_once(app, client, users, release):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    assert upload(client, release, 2).status_code == 303
    assert len(files(app)) == 2 and len(stored(app)) == 1


@pytest.mark.parametrize("content, name", [(b"MZ" + b"\0" * 64, "tool.pdf"), (b"", "empty.pdf"),
                                           (b"<script>alert(1)</script>", "page.html")])
def test_hostile_or_empty_files_store_nothing(app, client, users, release, content, name):
    client.login(users["dcc"])
    assert upload(client, release, 1, content=content, name=name).status_code == 422
    assert files(app) == [] and stored(app) == {} and incomplete_uploads(app) == [] and temps(app) == []


@pytest.mark.parametrize("raise_error", [True, False], ids=["stream-raises", "client-disconnects"])
def test_interrupted_upload_leaves_no_row_and_no_object(app, client, users, release, raise_error):
    client.login(users["dcc"])
    body = multipart_body(client.csrf_token(), PDF + os.urandom(3 * 1024 * 1024))
    response = client.post(url(release, 1), input_stream=BrokenStream(body, len(body) // 2, raise_error),
                           content_length=len(body), content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert response.status_code in (400, 500)
    assert files(app) == [] and stored(app) == {} and incomplete_uploads(app) == [] and temps(app) == []
    assert events(app, "evidence.") == []


def test_a_store_failing_midway_leaves_no_row_and_no_object(app, client, users, release, monkeypatch):
    client.login(users["dcc"])
    with app.app_context():
        store = backend()
    if store.name == "s3":
        real_upload_part, calls = store.client.upload_part, []

        def failing_part(**kw):
            calls.append(kw["PartNumber"])
            if len(calls) == 2:
                raise EndpointConnectionError(endpoint_url=app.config["S3_ENDPOINT_URL"])
            return real_upload_part(**kw)

        monkeypatch.setattr(store.client, "upload_part", failing_part)
    else:
        def failing_rename(*args):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(storage.os, "replace", failing_rename)
    response = upload(client, release, 1, content=PDF + os.urandom(6 * 1024 * 1024), name="big.pdf")
    assert response.status_code in (500, 503)
    if store.name == "s3":
        page = response.get_data(as_text=True)
        assert response.status_code == 503 and "The evidence store cannot be reached" in page and "reference" in page
    assert files(app) == [] and stored(app) == {} and incomplete_uploads(app) == [] and temps(app) == []
    assert events(app, "evidence.") == []


# --- Only the object store --------------------------------------------------------------------------

s3_only = pytest.mark.parametrize("backend_kind", ["s3"])


@s3_only
def test_objects_are_encrypted_and_locked_so_a_delete_is_refused(app, client, users, release):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    assert client.get("/healthz").json == {"status": "ok", "database": "ok", "storage": "ok", "object_store": "ok"}
    [row] = files(app)
    client_, bucket, key = s3(app), app.config["S3_BUCKET"], f"{row.sha256[:2]}/{row.sha256}"
    head = client_.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256" and head["ObjectLockMode"] == "COMPLIANCE"
    assert head["Metadata"]["sha256"] == row.sha256
    with pytest.raises(ClientError) as refused:
        client_.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert client_.get_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])["Body"].read() == PDF
    assert client.get(f"/evidence/{row.id}/download").data == PDF


@s3_only
def test_a_changed_object_is_refused_on_download(app, client, users, release, caplog):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    [row] = files(app)
    # Someone with write access puts other bytes under the key (a new version: the locked one stays).
    s3(app).put_object(Bucket=app.config["S3_BUCKET"], Key=f"{row.sha256[:2]}/{row.sha256}", Body=b"%PDF forged")
    response = client.get(f"/evidence/{row.id}/download")
    assert response.status_code == 502 and b"forged" not in response.data
    assert "does not match its SHA-256" in response.get_data(as_text=True)
    assert any(r.getMessage() == "stored evidence file corrupt" for r in caplog.records)


@s3_only
def test_clean_uploads_aborts_incomplete_multipart_uploads_and_reports_orphans(app, client, users, release):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    client_, bucket = s3(app), app.config["S3_BUCKET"]
    # What a host killed while sending a file leaves: a multipart upload never completed; and an object whose
    # row never committed.
    client_.create_multipart_upload(Bucket=bucket, Key="ab/" + "ab" * 32)
    orphan = "cd/" + "cd" * 32
    client_.put_object(Bucket=bucket, Key=orphan, Body=b"orphan")
    result = app.test_cli_runner().invoke(clean_uploads, [])
    assert result.exit_code == 0, result.output
    assert "Aborted 1 incomplete multipart upload(s)." in result.output
    assert f"Orphan (no evidence row): {orphan}" in result.output and "1 orphaned file(s)." in result.output
    assert incomplete_uploads(app) == []
    result = app.test_cli_runner().invoke(clean_uploads, ["--remove-orphans"])
    assert "1 orphaned file(s) removed." in result.output
    assert list(stored(app)) == [f"{files(app)[0].sha256[:2]}/{files(app)[0].sha256}"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@s3_only
def test_store_unreachable_upload_503_with_reference_other_pages_work(app, client, users, release):
    with app.app_context():
        app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{_closed_port()}"
        app.extensions.pop("evidence_storage", None)  # the next use builds a client for the dead endpoint
    client.login(users["dcc"])
    response = upload(client, release, 1)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "The evidence store cannot be reached, so the file was not stored" in page and "reference" in page
    assert files(app) == [] and events(app, "evidence.") == [] and temps(app) == []
    assert client.get(f"/releases/{release.code}").status_code == 200
    assert client.get(url(release, 1)).status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json == {"status": "degraded", "database": "ok", "storage": "ok", "object_store": "unreachable"}


def _new_bucket(endpoint: str) -> str:
    bucket = f"portal-restored-{secrets.token_hex(6)}"
    boto3.client("s3", endpoint_url=endpoint, region_name=REGION).create_bucket(
        Bucket=bucket, ObjectLockEnabledForBucket=True, CreateBucketConfiguration={"LocationConstraint": REGION})
    return bucket


@s3_only
def test_backup_and_restore_cover_the_object_store(app, client, users, release, target_app, tmp_path):
    big = PDF + os.urandom(6 * 1024 * 1024)
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    assert upload(client, release, 2, content=big, name="big.pdf").status_code == 303
    before = stored(app)
    result = app.test_cli_runner().invoke(args=["portal", "backup", str(tmp_path / "backup")])
    assert result.exit_code == 0 and "2 evidence files" in result.output, result.output
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["evidence"] == {key: key.rsplit("/", 1)[1] for key in before}
    assert all((tmp_path / "backup" / "evidence" / key).read_bytes() == data for key, data in before.items())
    target_app.config.update(EVIDENCE_STORAGE="s3", S3_BUCKET=_new_bucket(app.config["S3_ENDPOINT_URL"]),
                             S3_ENDPOINT_URL=app.config["S3_ENDPOINT_URL"], S3_REGION=REGION, S3_PART_MB=5,
                             S3_OBJECT_LOCK_DAYS=1)
    result = target_app.test_cli_runner().invoke(args=["portal", "restore", str(tmp_path / "backup")])
    assert result.exit_code == 0 and "2 evidence files" in result.output, result.output
    assert stored(target_app) == before
    # A second restore into the same bucket is refused: it is no longer empty.
    again = target_app.test_cli_runner().invoke(args=["portal", "restore", str(tmp_path / "backup")])
    assert again.exit_code != 0


@s3_only
def test_a_backup_refuses_a_changed_object(app, client, users, release, tmp_path):
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    [row] = files(app)
    s3(app).put_object(Bucket=app.config["S3_BUCKET"], Key=f"{row.sha256[:2]}/{row.sha256}", Body=b"%PDF forged")
    result = app.test_cli_runner().invoke(args=["portal", "backup", str(tmp_path / "backup")])
    assert result.exit_code != 0
    assert "do not match the SHA-256 they are kept under" in result.output
