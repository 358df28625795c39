"""Where evidence files are kept, behind one small interface, chosen by EVIDENCE_STORAGE:

- `local` (the default): the upload folder, each file fsynced and renamed into place by its SHA-256;
- `s3`: an S3-compatible object store (AWS S3, MinIO, Ceph RGW) through boto3, for several application hosts.
  Each file goes up as a multipart upload in S3_PART_MB parts read from the staged temp file (one part in memory
  at a time), hashed again while it streams and checked against the upload's SHA-256 before the object is
  completed, so the row is only ever added for an object holding exactly the bytes that were uploaded. Objects
  are keyed by hash, encrypted by the store when S3_SSE is set, and held under Object Lock retention in
  compliance mode for S3_OBJECT_LOCK_DAYS when set, so neither a person nor the portal's own credentials can
  delete or overwrite them. Downloads are read back through a hash check before they are sent; or, with
  S3_PRESIGNED_SECONDS set, answered with a redirect to a presigned GET URL valid that many seconds, which makes the
  store send the file as the same attachment (name, content type) itself: the portal then checks only that the
  object exists and carries the file's SHA-256 in its metadata, not the bytes, which it never sees.

Every backend stages uploads in the upload folder first (portal/criteria/storage.py): the file type checks
read the staged file, and an interrupted upload leaves only a temp file there, which clean-uploads removes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import tempfile
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import quote

from flask import Response, current_app, redirect, send_file
from werkzeug.datastructures import Headers
from werkzeug.utils import get_content_type

from ..access import PortalError
from ..timeutil import utcnow
from . import storage

log = logging.getLogger("portal.storage")


class StorageUnavailable(PortalError):
    """The evidence store cannot be reached: nothing was stored (503, with a reference to find the log line)."""

    status = 503

    def __init__(self, doing: str, err: Exception):
        self.reference = secrets.token_hex(4).upper()
        log.error("evidence store unavailable", extra={"reference": self.reference, "doing": doing,
                                                       "reason": f"{type(err).__name__}: {err}"[:500]})
        super().__init__(f"The evidence store cannot be reached, so the file was not {doing}. Try again in a few "
                         f"minutes; if it keeps happening, tell the portal's administrators the reference "
                         f"{self.reference}.")


class StoredFileCorrupt(PortalError):
    """The store returned bytes whose SHA-256 is not the file's: refused, never sent (logged)."""

    status = 502

    def __init__(self, sha256: str, got: str):
        log.error("stored evidence file corrupt", extra={"sha256": sha256, "got": got})
        super().__init__(f"The stored copy of this file does not match its SHA-256 ({sha256}), so it was not sent. "
                         "The portal's administrators have been told; they can restore it from a backup.")


class EvidenceStorage(Protocol):
    """What the portal needs of a place to keep evidence files, by SHA-256."""

    name: str

    def put(self, staged: storage.HashingTempFile) -> PurePosixPath | Path: ...
    def exists(self, sha256: str) -> bool: ...
    def send(self, sha256: str, mimetype: str, download_name: str) -> Response: ...
    def remove(self, sha256: str) -> None: ...
    def orphans(self, known: set[str]) -> list[str]: ...
    def abort_incomplete(self, older_than: dt.timedelta) -> list[str]: ...
    def check(self) -> tuple[bool, str]: ...  # a shared store (s3) only: /healthz checks the folder itself


def _attachment(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def attachment_headers(mimetype: str, download_name: str) -> tuple[str, str]:
    """The Content-Type and Content-Disposition that send_file(mimetype=..., as_attachment=True,
    download_name=...) gives a streamed download, built the way werkzeug builds them, for a store to send in the
    portal's place (a presigned URL's response-content-type / response-content-disposition)."""
    try:
        download_name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", download_name).encode("ascii", "ignore").decode("ascii")
        names = {"filename": simple, "filename*": f"UTF-8''{quote(download_name, safe='!#$&+-.^_`|~')}"}
    else:
        names = {"filename": download_name}
    headers = Headers()
    headers.set("Content-Disposition", "attachment", **names)
    return get_content_type(mimetype, "utf-8"), headers["Content-Disposition"]


class LocalStorage:
    """The upload folder: <folder>/ab/abcdef..., written by HashingTempFile.store_locally()."""

    name = "local"

    def put(self, staged: storage.HashingTempFile) -> Path:
        return staged.store_locally()

    def exists(self, sha256: str) -> bool:
        return storage.path_for(sha256).is_file()

    def send(self, sha256: str, mimetype: str, download_name: str) -> Response:
        return _attachment(send_file(storage.path_for(sha256), mimetype=mimetype, as_attachment=True,
                                     download_name=download_name, conditional=False, etag=False))

    def remove(self, sha256: str) -> None:
        storage.path_for(sha256).unlink(missing_ok=True)

    def orphans(self, known: set[str]) -> list[str]:
        return [str(path) for path in storage.local_orphans(known)]

    def remove_orphan(self, orphan: str) -> None:
        Path(orphan).unlink(missing_ok=True)

    def abort_incomplete(self, older_than: dt.timedelta) -> list[str]:
        return []  # an interrupted upload leaves only a temp file, removed with the other stray temps


MAX_PRESIGNED_SECONDS = 7 * 24 * 3600


class S3Storage:
    """An S3-compatible bucket: objects <S3_PREFIX>ab/abcdef..., uploaded in parts, checked by SHA-256."""

    name = "s3"

    def __init__(self, config):
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket = config["S3_BUCKET"]
        if not self.bucket:
            raise RuntimeError("EVIDENCE_STORAGE=s3 needs S3_BUCKET")
        self.prefix = config.get("S3_PREFIX", "")
        self.part_size = max(5, int(config.get("S3_PART_MB", 8))) * 1024 * 1024  # S3's smallest part is 5 MB
        self.sse = config.get("S3_SSE", "")
        self.kms_key = config.get("S3_SSE_KMS_KEY_ID", "")
        self.lock_days = int(config.get("S3_OBJECT_LOCK_DAYS", 0) or 0)
        self.presigned_seconds = int(config.get("S3_PRESIGNED_SECONDS", 0) or 0)
        if not 0 <= self.presigned_seconds <= MAX_PRESIGNED_SECONDS:
            raise RuntimeError(f"S3_PRESIGNED_SECONDS must be from 0 (stream through the portal) to "
                               f"{MAX_PRESIGNED_SECONDS} (seven days, SigV4's longest), not {self.presigned_seconds}")
        self.client = boto3.client(
            "s3", endpoint_url=config.get("S3_ENDPOINT_URL") or None, region_name=config.get("S3_REGION") or None,
            config=BotoConfig(connect_timeout=config.get("S3_TIMEOUT", 5),
                              read_timeout=config.get("S3_TIMEOUT", 5) * 6,
                              retries={"max_attempts": 3, "mode": "standard"},
                              signature_version="s3v4"))  # presigned URLs: X-Amz-Expires, and SSE-KMS objects

    def key_for(self, sha256: str) -> str:
        if not storage.HASH_RE.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def _errors(self):
        from botocore.exceptions import BotoCoreError, ClientError

        return BotoCoreError, ClientError

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def put(self, staged: storage.HashingTempFile) -> PurePosixPath:
        sha256 = staged.sha256  # waits for the hashing helper: the whole upload is in the temp file
        staged.file.flush()
        key = self.key_for(sha256)
        try:
            if self.exists(sha256):
                return PurePosixPath(key)  # the same bytes are already kept (and perhaps locked): keep them
            self.upload_file(staged.path, staged.size, sha256)
        except self._errors() as err:
            raise StorageUnavailable("stored", err) from None
        return PurePosixPath(key)

    def upload_file(self, path: Path, size: int, sha256: str) -> None:
        """Send the file at `path` as the object for `sha256`, in parts; refused (and aborted) unless the bytes
        sent hash to `sha256`."""
        key = self.key_for(sha256)
        extra = {"ContentType": "application/octet-stream", "Metadata": {"sha256": sha256}}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
            if self.kms_key:
                extra["SSEKMSKeyId"] = self.kms_key
        retain_until = None
        if self.lock_days:
            retain_until = utcnow() + dt.timedelta(days=self.lock_days)
            extra.update(ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=retain_until)
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, **extra)["UploadId"]
        try:
            digest, parts, sent = hashlib.sha256(), [], 0
            with open(path, "rb") as fh:
                while chunk := fh.read(self.part_size):
                    digest.update(chunk)
                    sent += len(chunk)
                    part = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                   PartNumber=len(parts) + 1, Body=chunk)
                    parts.append({"ETag": part["ETag"], "PartNumber": len(parts) + 1})
                    del chunk
            if digest.hexdigest() != sha256 or sent != size:
                raise OSError(f"{path} changed while it was being sent to the evidence store")
            done = self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                         MultipartUpload={"Parts": parts})
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except Exception:  # noqa: BLE001 - clean-uploads aborts what is left
                log.warning("multipart upload not aborted", extra={"key": key, "upload_id": upload_id})
            raise
        if retain_until is not None:
            head = self.client.head_object(Bucket=self.bucket, Key=key, VersionId=done["VersionId"])
            if head.get("ObjectLockMode") != "COMPLIANCE":
                # Stores that ignore the lock headers of a multipart upload take the retention afterwards.
                self.client.put_object_retention(
                    Bucket=self.bucket, Key=key, VersionId=done["VersionId"],
                    Retention={"Mode": "COMPLIANCE", "RetainUntilDate": retain_until})

    def send(self, sha256: str, mimetype: str, download_name: str) -> Response:
        """Read the object into a spooled temp file (bounded memory) while hashing it; send it only if its hash
        is the file's, so a corrupted or overwritten object is never served as evidence. With S3_PRESIGNED_SECONDS
        set: a redirect to a presigned URL instead (see presigned_redirect)."""
        if self.presigned_seconds:
            return self.presigned_redirect(sha256, mimetype, download_name)
        (storage.upload_folder() / storage.TMP_DIR).mkdir(parents=True, exist_ok=True)
        spool = tempfile.SpooledTemporaryFile(max_size=storage.FILE_CHUNK,
                                              dir=storage.upload_folder() / storage.TMP_DIR)
        try:
            digest = hashlib.sha256()
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=self.key_for(sha256))["Body"]
                try:
                    for chunk in body.iter_chunks(storage.FILE_CHUNK):
                        digest.update(chunk)
                        spool.write(chunk)
                finally:
                    body.close()
            except self._errors() as err:
                raise StorageUnavailable("sent", err) from None
            if digest.hexdigest() != sha256:
                raise StoredFileCorrupt(sha256, digest.hexdigest())
            size = spool.tell()
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        response = send_file(spool, mimetype=mimetype, as_attachment=True, download_name=download_name,
                             conditional=False, etag=False)
        response.content_length = size
        return _attachment(response)

    def presigned_redirect(self, sha256: str, mimetype: str, download_name: str) -> Response:
        """A 302 to a GET URL for the object, signed for S3_PRESIGNED_SECONDS, that makes the store answer with the
        Content-Type and attachment Content-Disposition a streamed download has. The object is checked to exist
        and to carry this SHA-256 in its metadata (an overwrite through the S3 API that does not copy it is
        refused, 502); its bytes are not checked: the portal never sees them. S3 has no override for
        X-Content-Type-Options: nosniff on the file's response must come from the store or a CDN in front of it."""
        key = self.key_for(sha256)
        content_type, disposition = attachment_headers(mimetype, download_name)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
            url = self.client.generate_presigned_url(
                "get_object", ExpiresIn=self.presigned_seconds,
                Params={"Bucket": self.bucket, "Key": key, "ResponseContentType": content_type,
                        "ResponseContentDisposition": disposition, "ResponseCacheControl": "no-store"})
        except self._errors() as err:  # the object missing, the store unreachable, no credentials to sign with
            raise StorageUnavailable("sent", err) from None
        recorded = head.get("Metadata", {}).get("sha256", "")
        if recorded != sha256:
            raise StoredFileCorrupt(sha256, f"metadata sha256={recorded or 'none'}")
        response = redirect(url, 302)
        response.headers["Cache-Control"] = "no-store"  # the URL is a credential until it expires: never cached
        return _attachment(response)

    def remove(self, sha256: str) -> None:
        """Delete the current object (under Object Lock only a delete marker: the locked version stays)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except self._errors() as err:
            log.warning("evidence object not removed", extra={"sha256": sha256, "reason": str(err)})

    def keys(self) -> list[str]:
        """Every object's key under S3_PREFIX (the current versions)."""
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            found += [item["Key"] for item in page.get("Contents", [])]
        return found

    def orphans(self, known: set[str]) -> list[str]:
        return [key for key in self.keys() if key.rsplit("/", 1)[-1] not in known]

    def download_to(self, key: str, target: Path) -> str:
        """Copy one object into `target` (for a backup); its SHA-256."""
        digest = hashlib.sha256()
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            with open(target, "wb") as fh:
                for chunk in body.iter_chunks(storage.FILE_CHUNK):
                    digest.update(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        finally:
            body.close()
        return digest.hexdigest()

    def remove_orphan(self, orphan: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=orphan)

    def abort_incomplete(self, older_than: dt.timedelta) -> list[str]:
        """Abort multipart uploads started more than `older_than` ago (a host died while sending a file)."""
        cutoff = utcnow() - older_than
        aborted = []
        for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket,
                                                                                 Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] <= cutoff:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                       UploadId=upload["UploadId"])
                    aborted.append(upload["Key"])
        return aborted

    def check(self) -> tuple[bool, str]:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors() as err:
            log.error("health check: evidence store unreachable", extra={"reason": f"{type(err).__name__}: {err}"})
            return False, "unreachable"
        return True, "ok"


BACKENDS = {"local": LocalStorage, "s3": S3Storage}


def backend() -> EvidenceStorage:
    """The app's evidence storage, made once per app from EVIDENCE_STORAGE."""
    app = current_app._get_current_object()
    store = app.extensions.get("evidence_storage")
    if store is None:
        kind = app.config.get("EVIDENCE_STORAGE", "local")
        if kind not in BACKENDS:
            raise RuntimeError(f"EVIDENCE_STORAGE must be one of {', '.join(BACKENDS)}, not {kind!r}")
        store = LocalStorage() if kind == "local" else S3Storage(app.config)
        app.extensions["evidence_storage"] = store
    return store


def store(staged) -> object:
    """Store a staged upload (storage.HashingTempFile) by its hash in the configured backend (an existing copy is
    kept as is); its location."""
    return backend().put(staged)


def remove_if_unreferenced(sha256: str, referenced: bool) -> None:
    """After a failed commit: drop a stored file that no row points to."""
    if not referenced:
        backend().remove(sha256)
