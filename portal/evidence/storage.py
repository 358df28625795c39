"""Evidence storage: uploads stream into a temp file in the upload folder while being hashed,
then are flushed, fsynced and renamed into place by their SHA-256 (<folder>/ab/abcdef...).

Speed (bench/upload.py): the body of an uploaded file is read from the request in large chunks straight into
fresh buffers (no copies in Python), written to the temp file, and hashed on a helper thread (hashlib releases
the GIL) while the next chunk arrives; a second helper starts writing the file back to disk as it grows, so the
fsync before the rename has little left to do."""
from __future__ import annotations

import hashlib
import os
import queue
import re
import tempfile
import threading
import typing as t
from collections import deque
from pathlib import Path

from flask import Request, current_app, has_app_context
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData, State

TMP_DIR = "tmp"
TMP_PREFIX = "upload-"
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
# Tuning (bench/upload.py): chunk read straight from the request for a file body; chunks queued for hashing
# (bounds the memory an upload holds to about QUEUED_CHUNKS x FILE_CHUNK); bytes between early write-backs.
FILE_CHUNK = int(os.environ.get("UPL_CHUNK", 1024 * 1024))
QUEUED_CHUNKS = int(os.environ.get("UPL_Q", 8))
WRITEBACK_EVERY = int(os.environ.get("UPL_WB", 16 * 1024 * 1024))
_WBMODE = os.environ.get("UPL_WBMODE", "thread")
_FAST = os.environ.get("UPL_FAST", "1") == "1"
_BUF = int(os.environ.get("UPL_BUF", 64 * 1024))
HELPER_AFTER = int(os.environ.get("UPL_HELPER_AFTER", 1024 * 1024))


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def path_for(sha256: str) -> Path:
    """Where a file with this hash lives (content-addressed, fanned out by its first two hex digits)."""
    if not HASH_RE.match(sha256):
        raise ValueError("not a SHA-256 hex digest")
    return upload_folder() / sha256[:2] / sha256


class HashingTempFile:
    """A writable temp file that hashes and counts what is written; removed on close unless stored.

    Once the file passes HELPER_AFTER bytes, hashing moves to a helper thread (chunks are queued in order, at
    most QUEUED_CHUNKS of them, so the upload's memory stays bounded) and an early write-back helper starts.
    """

    def __init__(self, folder: Path):
        tmp = folder / TMP_DIR
        tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp, prefix=TMP_PREFIX, suffix=".part")
        self.path = Path(name)
        self.file = os.fdopen(fd, "w+b")
        self.hash = hashlib.sha256()
        self.size = 0
        self.stored = False
        self._hasher: _Hasher | None = None
        self._writeback: _WriteBack | None = None
        self._written_back = 0

    def write(self, data) -> int:
        """Write and hash `data`. Anything but bytes is copied first: the caller may change it afterwards."""
        return self.write_owned(data if isinstance(data, bytes) else bytes(data))

    def write_owned(self, data: bytes | memoryview) -> int:
        """write() for a buffer the caller will never change again (the parser's fresh chunks): no copy."""
        n = self.file.write(data)
        self.size += n
        if self._hasher is None and self.size >= HELPER_AFTER:
            self._hasher = _Hasher(self.hash)
            if _WBMODE == "thread":
                self._writeback = _WriteBack(self.file.fileno())
        if self._hasher is not None:
            self._hasher.add(data)
        else:
            self.hash.update(data)
        if self._hasher is not None and self.size - self._written_back >= WRITEBACK_EVERY:
            self.file.flush()
            if self._writeback is not None:
                self._writeback.start_round()
            elif _WBMODE == "hasher":
                self._hasher.add(self.file.fileno())
            self._written_back = self.size
        return n

    def _stop_helpers(self) -> None:
        """Wait for the helpers to finish; raise what either of them hit."""
        hasher, writeback, self._hasher, self._writeback = self._hasher, self._writeback, None, None
        try:
            if hasher is not None:
                hasher.finish()
        finally:
            if writeback is not None:
                writeback.finish()

    @property
    def sha256(self) -> str:
        self._stop_helpers()
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
        self._stop_helpers()
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
            self._stop_helpers()
        except Exception:  # noqa: BLE001 - the file is being thrown away; its hash or write-back no longer matter
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


class _Hasher:
    """Helper thread that feeds queued chunks, in order, to a hash (hashlib releases the GIL on large buffers,
    so it runs alongside the thread receiving the upload). It holds no reference to the temp file object."""

    def __init__(self, digest):
        self.digest = digest
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUED_CHUNKS)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="upload-hash", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None:
                try:
                    if isinstance(item, int):
                        os.fdatasync(item)
                    else:
                        self.digest.update(item)
                except BaseException as err:  # noqa: BLE001 - reported by finish(); keep draining the queue
                    self.error = err

    def add(self, data) -> None:
        self.queue.put(data)  # blocks while QUEUED_CHUNKS are waiting: the upload can't outrun the hash

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class _WriteBack:
    """Helper thread that fdatasyncs the temp file now and then while it is still being written, so most of it
    is on disk by the time store() fsyncs (which still happens, and is what makes the file durable)."""

    def __init__(self, fd: int):
        self.fd = fd
        self.wanted = threading.Event()
        self.stopping = False
        self.error: OSError | None = None
        self.thread = threading.Thread(target=self._run, name="upload-writeback", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            if self.stopping:
                return
            try:
                os.fdatasync(self.fd)
            except OSError as err:  # reported by finish(): a failed write-back must fail the upload
                self.error = err
                return

    def start_round(self) -> None:
        self.wanted.set()  # rounds asked for while one runs merge into the next

    def finish(self) -> None:
        self.stopping = True
        self.wanted.set()
        self.thread.join()
        if self.error is not None:
            raise self.error


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class UploadMultiPartParser(MultiPartParser):
    """werkzeug's MultiPartParser.parse (the same decoder, events and limits) with one fast path: while a file
    part streams into a HashingTempFile, its body is read from the request in FILE_CHUNK pieces straight into
    fresh buffers, which are written and hashed without copying. As soon as a chunk holds anything that could
    be (part of) a boundary, werkzeug's decoder takes over again with exactly the bytes it would have had."""

    def parse(self, stream, boundary: bytes, content_length: int | None):
        decoder = MultipartDecoder(boundary, max_form_memory_size=self.max_form_memory_size,
                                   max_parts=self.max_form_parts)
        fields: list = []
        files: list = []
        current_part: Field | File | None = None
        container: t.Any = None
        field_size: int | None = None
        handed_back: deque[bytes] = deque()  # bytes the fast path read but the decoder has still to see
        ended = False

        def chunks() -> t.Iterator[bytes | None]:
            while True:
                if handed_back:
                    yield handed_back.popleft()
                elif ended or not (data := stream.read(self.buffer_size)):
                    break
                else:
                    yield data
            yield None

        for data in chunks():
            decoder.receive_data(data)
            event = decoder.next_event()
            while not isinstance(event, (Epilogue, NeedData)):
                if isinstance(event, Field):
                    current_part, field_size, container = event, 0, []
                elif isinstance(event, File):
                    current_part, field_size = event, None
                    container = self.start_file_streaming(event, content_length)
                elif isinstance(event, Data):
                    if self.max_form_memory_size is not None and field_size is not None:
                        field_size += len(event.data)
                        if field_size > self.max_form_memory_size:
                            raise RequestEntityTooLarge()
                    if isinstance(container, list):
                        container.append(event.data)
                    else:
                        container.write(event.data)
                    if not event.more_data:
                        if isinstance(current_part, Field):
                            value = b"".join(container).decode(self.get_part_charset(current_part.headers), "replace")
                            fields.append((current_part.name, value))
                        else:
                            container.seek(0)
                            files.append((current_part.name, FileStorage(
                                container, current_part.filename, current_part.name, headers=current_part.headers)))
                    elif (_FAST and isinstance(container, HashingTempFile) and decoder.state is State.DATA
                          and not handed_back and not ended and hasattr(stream, "readinto")):
                        rest, ended = _stream_file_body(stream, decoder, boundary, container)
                        handed_back.extend(rest[i:i + self.buffer_size] for i in range(0, len(rest), self.buffer_size))
                event = decoder.next_event()
        return self.cls(fields), self.cls(files)


def _stream_file_body(stream, decoder: MultipartDecoder, boundary: bytes,
                      container: HashingTempFile) -> tuple[bytes, bool]:
    """Read a file part's body from the request in big chunks into `container` while no boundary can be in
    sight; returns (the bytes for the decoder to go on with, whether the request body has ended)."""
    marker = b"--" + boundary
    # A boundary is a line break (1 or 2 bytes) then the marker: one that starts in a chunk's last `tail` bytes
    # may run on into the next chunk, so those bytes are held back until the next chunk has been looked at.
    tail = len(marker) + 1
    carry = bytes(decoder.buffer)  # what the decoder held back: data, unless a boundary starts there
    del decoder.buffer[:]
    while True:
        chunk = bytearray(FILE_CHUNK)
        n = stream.readinto(chunk)
        if not n:
            return carry, True
        view = memoryview(chunk)[:n]
        if (carry + view[:len(marker) - 1]).find(marker) != -1 or chunk.find(marker, 0, n) != -1:
            return carry + view, False  # maybe a boundary: the decoder decides, as it always would have
        if n <= tail:  # a short read: too little to decide on
            carry += view
            continue
        if carry:
            container.write(carry)
        container.write_owned(view[:n - tail])
        carry = bytes(view[n - tail:])


class UploadFormDataParser(FormDataParser):
    """FormDataParser with UploadMultiPartParser (the rest as werkzeug's _parse_multipart)."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        parser = UploadMultiPartParser(stream_factory=self.stream_factory,
                                       max_form_memory_size=self.max_form_memory_size,
                                       max_form_parts=self.max_form_parts, cls=self.cls, buffer_size=_BUF)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


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
