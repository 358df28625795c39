"""Evidence storage: uploads stream into a temp file in the upload folder while being hashed, then are stored
by their SHA-256 in the configured backend (portal/criteria/backends.py, EVIDENCE_STORAGE): the local folder
(flushed, fsynced and renamed into place, <folder>/ab/abcdef...) or S3-compatible object storage.

Large files (bench/upload.py): the multipart parser reads the body of a file part in FILE_CHUNK pieces straight
into reusable buffers and writes them to the temp file without copying them in Python. A helper thread hashes
the chunks meanwhile (hashlib releases the GIL on large buffers), and another fdatasyncs the file as it grows,
so the fsync before the rename has little left to do.
"""
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
# Large files: the body of a file part is read in FILE_CHUNK pieces; the helper threads start once a file has
# HELPER_AFTER bytes; at most QUEUED_CHUNKS chunks wait for the hash (so an upload holds about
# (QUEUED_CHUNKS + 2) x FILE_CHUNK of memory); the file is written back to disk every WRITEBACK_EVERY bytes.
FILE_CHUNK = 1024 * 1024
HELPER_AFTER = 1024 * 1024
QUEUED_CHUNKS = 8
WRITEBACK_EVERY = 16 * 1024 * 1024


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def path_for(sha256: str) -> Path:
    """Where a file with this hash lives (content-addressed, fanned out by its first two hex digits)."""
    if not HASH_RE.match(sha256):
        raise ValueError("not a SHA-256 hex digest")
    return upload_folder() / sha256[:2] / sha256


class HashingTempFile:
    """A writable temp file that hashes and counts what is written; removed on close unless stored.

    Once the file has HELPER_AFTER bytes, two helper threads join in: one hashes the written chunks in order
    (the writer waits when QUEUED_CHUNKS are queued, so memory stays bounded), the other fdatasyncs the file
    every WRITEBACK_EVERY bytes. `sha256`, store() and close() wait for both and raise what either hit.
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
        self._written_back = 0  # size at the last write-back round
        self._spare: list[bytearray] = []  # chunk buffers the hash is done with, for chunk_buffer()

    def write(self, data) -> int:
        """Write and hash `data`. Anything but bytes is copied first: the caller may change it afterwards."""
        return self._write(data if isinstance(data, bytes) else bytes(data), None)

    def chunk_buffer(self, size: int) -> bytearray:
        """A buffer to read the next chunk into, for write_chunk(): one the hash is done with, or a new one."""
        try:
            buffer = self._spare.pop()
        except IndexError:
            return bytearray(size)
        return buffer if len(buffer) == size else bytearray(size)

    def write_chunk(self, view: memoryview) -> int:
        """write() for part of a chunk_buffer() that the caller hands over (no copy): it must not touch the
        buffer again; the buffer goes back to chunk_buffer() once it has been hashed."""
        return self._write(view, view.obj)

    def _write(self, data, buffer: bytearray | None) -> int:
        n = self.file.write(data)
        self.size += n
        if self._hasher is None and self.size >= HELPER_AFTER:
            self._hasher = _Hasher(self.hash, self._spare)
            self._writeback = _WriteBack(self.file.fileno())
        if self._hasher is not None:
            self._hasher.add(data, buffer)
        else:
            self.hash.update(data)
            if buffer is not None:
                self._spare.append(buffer)
        if self._writeback is not None and self.size - self._written_back >= WRITEBACK_EVERY:
            self.file.flush()
            self._writeback.start_round()
            self._written_back = self.size
        return n

    def _stop_helpers(self) -> None:
        """Wait for the helpers to finish what they were given; raise what either of them hit."""
        hasher, writeback, self._hasher, self._writeback = self._hasher, self._writeback, None, None
        try:
            if hasher is not None:
                hasher.finish()
        finally:
            self._spare.clear()
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

    def store_locally(self) -> Path:
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
        except Exception:  # noqa: BLE001 - the file is being thrown away: its hash and write-back don't matter
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
    """Helper thread: feeds queued chunks, in order, to the hash, and hands their buffers back for reuse.
    It holds no reference to the HashingTempFile, so an abandoned temp file can still be collected and closed."""

    def __init__(self, digest, spare: list[bytearray]):
        self.digest = digest
        self.spare = spare
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUED_CHUNKS)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="upload-hash", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (job := self.queue.get()) is not None:
            data, buffer = job
            if self.error is None:
                try:
                    self.digest.update(data)
                except BaseException as err:  # noqa: BLE001 - raised by finish(); keep draining the queue
                    self.error = err
            if buffer is not None:
                self.spare.append(buffer)

    def add(self, data, buffer: bytearray | None) -> None:
        self.queue.put((data, buffer))  # waits while QUEUED_CHUNKS are queued: the upload can't outrun the hash

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class _WriteBack:
    """Helper thread: fdatasyncs the temp file when asked, while it is still being written, so most of it is on
    disk by the time store() fsyncs (which it still does: that fsync is what makes the file durable). A failed
    write-back fails the upload: the error would not be reported again by the later fsync."""

    def __init__(self, fd: int):
        self.fd = fd
        self.wanted = threading.Event()
        self.stopping = False
        self.error: OSError | None = None
        self.thread = threading.Thread(target=self._run, name="upload-writeback", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        sync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
        while True:
            self.wanted.wait()
            self.wanted.clear()
            if self.stopping:
                return
            try:
                sync(self.fd)
            except OSError as err:
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


class _Decoder(MultipartDecoder):
    r"""werkzeug's MultipartDecoder with one fix (pallets/werkzeug#3285, open for werkzeug 3.1.9): when its buffer
    ends inside the closing boundary, just after "\r\n--boundary-", it lets the "\r" go as data, so a part whose
    body the reads happen to split there gains a stray byte (with werkzeug's 64 KB reads: 1 file size in 65536).
    Here the whole unfinished boundary is held back until the rest of it arrives."""

    def _last_partial_boundary_index(self, data: bytes | bytearray) -> int:
        index = super()._last_partial_boundary_index(data)
        marker = b"--" + self.boundary
        at = data.rfind(marker, max(0, len(data) - len(marker) - 8))
        if at > 0 and data[at - 1] in b"\r\n" and data[at + len(marker):] in (b"-", b" ", b"\t", b""):
            at -= 2 if data[at - 2:at] == b"\r\n" else 1
            index = min(index, at)
        return index


class UploadMultiPartParser(MultiPartParser):
    """werkzeug's MultiPartParser.parse (the same decoder, but for _Decoder's fix, events and limits) with a fast
    path for the body of a file part that streams into a HashingTempFile: see _read_file_body."""

    def parse(self, stream, boundary: bytes, content_length: int | None):
        decoder = _Decoder(boundary, max_form_memory_size=self.max_form_memory_size, max_parts=self.max_form_parts)
        fields: list = []
        files: list = []
        current_part: t.Any = None
        container: t.Any = None
        field_size: int | None = None
        handed_back: deque[bytes] = deque()  # bytes the fast path read that the decoder has still to see
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

        # From here on as werkzeug's MultiPartParser.parse (3.1), but for the fast path at the end.
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
                            value = b"".join(container).decode(self.get_part_charset(current_part.headers),
                                                               "replace")
                            fields.append((current_part.name, value))
                        else:
                            container.seek(0)
                            files.append((current_part.name, FileStorage(
                                container, current_part.filename, current_part.name, headers=current_part.headers)))
                    elif (isinstance(container, HashingTempFile) and decoder.state is State.DATA
                          and not handed_back and not ended and hasattr(stream, "readinto")):
                        # The decoder has caught up with the stream in the middle of a file's body.
                        rest, ended = _read_file_body(stream, decoder, container)
                        # Fed back in pieces, as read from the stream: the decoder limits each to max_form_memory_size.
                        handed_back.extend(rest[i:i + self.buffer_size] for i in range(0, len(rest), self.buffer_size))
                event = decoder.next_event()
        return self.cls(fields), self.cls(files)


def _read_file_body(stream, decoder: MultipartDecoder, container: HashingTempFile) -> tuple[bytes, bool]:
    """Read a file part's body from `stream` into `container` in FILE_CHUNK pieces while no boundary can be in
    sight: a chunk is read into a buffer, scanned for the boundary marker, and handed to the container whole.

    As soon as a chunk holds the marker (a boundary, or file bytes that look like one) it stops and returns the
    bytes from there on, for the decoder to take over exactly as if it had read them itself; also returns
    whether the request body has ended.
    """
    marker = b"--" + decoder.boundary
    # A boundary is a line break (1 or 2 bytes) then the marker: one that starts in a chunk's last `tail` bytes
    # could run on into the next chunk, so those bytes are carried over to the start of the next one.
    tail = len(marker) + 1
    carry = bytes(decoder.buffer)  # what the decoder held back, for the same reason (at most tail + 1 bytes)
    del decoder.buffer[:]
    if len(carry) > FILE_CHUNK // 2:  # only with an absurdly long boundary: leave it all to the decoder
        return carry, False
    while True:
        buffer = container.chunk_buffer(FILE_CHUNK)
        start = len(carry)
        buffer[:start] = carry
        n = stream.readinto(memoryview(buffer)[start:])
        if not n:
            return carry, True
        end = start + n
        if buffer.find(marker, 0, end) != -1:
            return bytes(memoryview(buffer)[:end]), False
        if end <= tail:  # short reads: too little to tell yet
            carry = bytes(buffer[:end])
            continue
        carry = bytes(buffer[end - tail:end])
        container.write_chunk(memoryview(buffer)[:end - tail])  # `buffer` now belongs to the container


class UploadFormDataParser(FormDataParser):
    """FormDataParser with UploadMultiPartParser."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        parser = UploadMultiPartParser(stream_factory=self.stream_factory,
                                       max_form_memory_size=self.max_form_memory_size,
                                       max_form_parts=self.max_form_parts, cls=self.cls)
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


def stray_temps() -> list[Path]:
    """Temp files that interrupted uploads left in the upload folder (every backend stages uploads there)."""
    tmp = upload_folder() / TMP_DIR
    return sorted(tmp.glob(TMP_PREFIX + "*")) if tmp.exists() else []


def local_orphans(known_hashes: set[str]) -> list[Path]:
    """Files stored in the upload folder that no row refers to."""
    folder = upload_folder()
    orphans = []
    if folder.exists():
        for sub in sorted(folder.iterdir()):
            if sub.is_dir() and sub.name != TMP_DIR:
                orphans += [p for p in sorted(sub.iterdir()) if p.name not in known_hashes]
    return orphans


def scan(known_hashes: set[str]) -> tuple[list[Path], list[Path]]:
    """(stray temp files, stored files with no row) in the upload folder."""
    return stray_temps(), local_orphans(known_hashes)
