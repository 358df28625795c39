"""The witness: every signed checkpoint as one JSON line, appended to a file outside the database."""
from __future__ import annotations

import fcntl
import json
import os
from typing import Any, Iterator

# A checkpoint line is about 350 bytes: the last one is always within this much of the end.
_TAIL_BYTES = 4096


def append(path: str, records: list[dict[str, Any]]) -> None:
    """Append the records and fsync them before returning; the file is only ever opened for appending."""
    data = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records).encode()
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    created = not os.path.exists(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        # Several hosts may share the witness over NFS, where O_APPEND alone is not atomic (each client works out the
        # end itself): under a POSIX lock the client revalidates the file first and flushes it before unlocking, so
        # hosts' lines never overlap. Released by the close. A file system without locks still gets the line.
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        # One write of whole lines: O_APPEND puts it at the end even with other workers appending too.
        if os.write(fd, data) != len(data):
            raise OSError(f"short write to the audit witness {path}")
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        # The new file's directory entry must survive a crash as well as its contents.
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def last(path: str) -> dict[str, Any] | None:
    """The newest checkpoint, reading only the end of the file (None if there is none yet).

    Raises ValueError if the last complete line is not a checkpoint.
    """
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - _TAIL_BYTES))
            tail = fh.read()
    except FileNotFoundError:
        return None
    # Only complete lines: a line being appended right now ends without its newline.
    lines = tail[:tail.rfind(b"\n") + 1].splitlines()
    return _parse(lines[-1]) if lines else None


def records(path: str) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """Every line as (line number, checkpoint), streamed; the checkpoint is None for a line that is not one."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return
    with fh:
        for number, line in enumerate(fh, start=1):
            try:
                yield number, _parse(line)
            except ValueError:
                yield number, None


def _parse(line: bytes) -> dict[str, Any]:
    record = json.loads(line)
    if not isinstance(record, dict) or not isinstance(record.get("length"), int) or not isinstance(
            record.get("head_hash"), str):
        raise ValueError("not a checkpoint")
    return record
