"""Evidence storage: uploads stream into a temp file in the upload folder while being hashed,
then are flushed, fsynced and renamed into place by their SHA-256 (<folder>/ab/abcdef...)."""
from __future__ import annotations

import hashlib
import os
import queue
import threading
import re
import tempfile
from pathlib import Path

from flask import Request, current_app, has_app_context
from werkzeug.formparser import FormDataParser, MultiPartParser

_BUF = int(os.environ.get("UPL_BUF", 65536))
_MODE = os.environ.get("UPL_MODE", "thread")
_WB = int(os.environ.get("UPL_WB", 0))
_QDEPTH = int(os.environ.get("UPL_Q", 64))
_SYNC = object()


class UploadFormDataParser(FormDataParser):
    def _parse_multipart(self, stream, mimetype, content_length, options):
        parser = MultiPartParser(stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
                                 max_form_parts=self.max_form_parts, cls=self.cls, buffer_size=_BUF)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files

TMP_DIR = "tmp"
TMP_PREFIX = "upload-"
HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def path_for(sha256: str) -> Path:
    """Where a file with this hash lives (content-addressed, fanned out by its first two hex digits)."""
    if not HASH_RE.match(sha256):
        raise ValueError("not a SHA-256 hex digest")
    return upload_folder() / sha256[:2] / sha256


class HashingTempFile:
    """A writable temp file that hashes and counts what is written; removed on close unless stored."""

    def __init__(self, folder: Path):
        tmp = folder / TMP_DIR
        tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp, prefix=TMP_PREFIX, suffix=".part")
        self.path = Path(name)
        self.file = os.fdopen(fd, "w+b")
        self.hash = hashlib.sha256()
        self.size = 0
        self.stored = False
        self._queue = queue.Queue(maxsize=_QDEPTH)
        self._worker = None
        self._error = None
        self._synced_to = 0

    def _run(self):
        try:
            while (item := self._queue.get()) is not None:
                if item is _SYNC:
                    os.fdatasync(self.file.fileno())
                else:
                    self.hash.update(item)
        except BaseException as err:
            self._error = err
            while self._queue.get() is not None:
                pass

    def write(self, data: bytes) -> int:
        if _MODE == "inline":
            self.hash.update(data)
        else:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, daemon=True)
                self._worker.start()
            self._queue.put(bytes(data))
        self.size += len(data)
        n = self.file.write(data)
        if _WB and self.size - self._synced_to >= _WB:
            self.file.flush()
            self._queue.put(_SYNC)
            self._synced_to = self.size
        return n

    def _finish(self):
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None
        if self._error is not None:
            raise self._error

    @property
    def sha256(self) -> str:
        self._finish()
        return self.hash.hexdigest()

    def __getattr__(self, name):
        # read, seek, tell, readline, flush... come from the real file.
        return getattr(self.file, name)

    def head(self, n: int = 65536) -> bytes:
        self.file.flush()
        with open(self.path, "rb") as f:
            return f.read(n)

    def store(self) -> Path:
        """Flush and fsync, then rename into place by hash (atomic); an existing copy is kept as is."""
        self._finish()
        self.file.flush()
        os.fsync(self.file.fileno())
        target = path_for(self.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            return target
        os.replace(self.path, target)
        self.stored = True
        _fsync_dir(target.parent)
        return target

    def close(self) -> None:
        try:
            self._finish()
        except Exception:
            pass
        if not self.file.closed:
            self.file.close()
        if not self.stored:
            self.path.unlink(missing_ok=True)

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class UploadRequest(Request):
    """Writes every uploaded file part straight into a hashing temp file in the upload folder."""

    form_data_parser_class = UploadFormDataParser

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        if not has_app_context() or not current_app.config.get("UPLOAD_FOLDER"):
            return super()._get_file_stream(total_content_length, content_type, filename, content_length)
        stream = HashingTempFile(upload_folder())
        self.__dict__.setdefault("_upload_temps", []).append(stream)
        return stream

    def close(self) -> None:
        # Also covers a body that failed midway, when `files` was never built.
        try:
            super().close()
        finally:
            for stream in self.__dict__.pop("_upload_temps", []):
                stream.close()


def remove_if_unreferenced(sha256: str, referenced: bool) -> None:
    """After a failed commit: drop a stored file that no row points to."""
    if not referenced:
        path_for(sha256).unlink(missing_ok=True)


def scan(known_hashes: set[str]) -> tuple[list[Path], list[Path]]:
    """(stray temp files, stored files with no row)."""
    folder = upload_folder()
    temps = sorted((folder / TMP_DIR).glob(TMP_PREFIX + "*")) if (folder / TMP_DIR).exists() else []
    orphans = []
    if folder.exists():
        for sub in sorted(folder.iterdir()):
            if sub.is_dir() and sub.name != TMP_DIR:
                orphans += [p for p in sorted(sub.iterdir()) if p.name not in known_hashes]
    return temps, orphans
