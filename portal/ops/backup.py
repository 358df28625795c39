"""Backup and restore: a consistent copy of the database plus the evidence files, with a manifest to verify it.

A backup directory holds:
  manifest.json          row counts, audit chain head, SHA-256 of every file below
  database.sqlite3       (SQLite) made with SQLite's online backup API: one consistent snapshot
  tables/<table>.jsonl   (PostgreSQL) every table read in one REPEATABLE READ, READ ONLY transaction
  database.pgdump        (PostgreSQL, when pg_dump is installed) the same snapshot for a DBA's pg_restore
  evidence/...           the evidence files (ab/abcdef..., from the upload folder or, with EVIDENCE_STORAGE=s3,
                         the bucket), copied after the database snapshot, each file's SHA-256 checked
The database is copied first, so every evidence file the copied rows refer to already exists in the store. The
evidence folder has the same layout whichever backend wrote it, so a backup restores into either.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import decimal
import enum
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from ..audit.services import verify_chain
from ..criteria.backends import backend
from ..extensions import db
from ..timeutil import utcnow

FORMAT_VERSION = 1
SQLITE_FILE = "database.sqlite3"
TABLES_DIR = "tables"
PGDUMP_FILE = "database.pgdump"
EVIDENCE_DIR = "evidence"
GENESIS = "0" * 64


class BackupError(Exception):
    """The backup or restore cannot go ahead, or its verification failed."""


class BackupBusy(BackupError):
    """Another backup of the same database is running (on this host or another): this one is skipped."""


# The advisory-lock key that lets one backup at a time run against a PostgreSQL database, whichever host runs it.
_BACKUP_LOCK_KEY = 0x5EC0BAC


@contextlib.contextmanager
def backup_lock():
    """Hold the one backup lock for this database, or raise BackupBusy at once if another backup holds it.

    PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a connection of its own, released when the
    backup ends or its connection drops. SQLite: an exclusive `flock` on a file beside the database, released
    by the kernel if the process dies.
    """
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        with db.engine.connect() as conn:
            if not conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": _BACKUP_LOCK_KEY}):
                conn.rollback()
                raise BackupBusy("Another backup of this database is running (on this host or another): "
                                 "this one is skipped.")
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _BACKUP_LOCK_KEY})
                conn.commit()
        return
    database = db.engine.url.database
    if dialect != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = f"{database}.backup-lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupBusy(f"Another backup of this database is running (it holds {lock_path}): "
                             "this one is skipped.") from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@dataclass
class RestoreReport:
    row_counts: dict[str, int]
    head_hash: str
    events: int
    evidence_files: int
    problems: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tables() -> list[sa.Table]:
    return list(db.metadata.sorted_tables)  # parents before children


def _snapshot_facts(conn: sa.Connection) -> tuple[dict[str, int], str, int]:
    """Row counts and audit chain head, read inside the snapshot being copied."""
    counts = {t.name: conn.scalar(sa.select(sa.func.count()).select_from(t)) for t in _tables()}
    audit = db.metadata.tables["audit_event"]
    head = conn.scalar(sa.select(audit.c.hash).order_by(audit.c.id.desc()).limit(1))
    return counts, head or GENESIS, counts["audit_event"]


# --- Backup -------------------------------------------------------------------------------------

def _backup_sqlite(out: Path) -> tuple[dict[str, int], str, int]:
    source_path = db.engine.url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("An in-memory database cannot be backed up.")
    target = out / SQLITE_FILE
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        # One step (pages=-1): the whole file is copied under one read snapshot while writers carry on.
        source.backup(copy, pages=-1)
    finally:
        copy.close()
        source.close()
    engine = sa.create_engine(f"sqlite:///{target}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return _snapshot_facts(conn)
    finally:
        engine.dispose()


def _encode(value):
    if isinstance(value, enum.Enum):
        return value.name  # SQLAlchemy's Enum type stores and accepts the member name
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$base64": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"cannot back up a {type(value).__name__}")


def _backup_postgresql(out: Path) -> tuple[dict[str, int], str, int]:
    (out / TABLES_DIR).mkdir()
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
            for table in _tables():
                with open(out / TABLES_DIR / f"{table.name}.jsonl", "w", encoding="utf-8") as fh:
                    rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns))
                    for row in rows.mappings():
                        fh.write(json.dumps(dict(row), default=_encode, ensure_ascii=False) + "\n")
            facts = _snapshot_facts(conn)
            _pg_dump(out, snapshot)  # while the snapshot is still held open
    return facts


def _pg_dump(out: Path, snapshot: str) -> None:
    pg_dump = shutil.which("pg_dump")
    if not pg_dump:
        return
    url = db.engine.url.set(drivername="postgresql")
    # The password goes in the environment, never on a command line other users can list.
    env = dict(os.environ, PGPASSWORD=url.password or "")
    result = subprocess.run(
        [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={out / PGDUMP_FILE}",
         url.set(password=None).render_as_string(hide_password=False)],
        capture_output=True, text=True, timeout=3600, env=env)
    if result.returncode != 0:
        # The JSON-lines export is complete on its own; pg_dump is an extra for DBAs.
        (out / PGDUMP_FILE).unlink(missing_ok=True)
        (out / "pg_dump-error.txt").write_text(result.stderr)


def _copy_evidence(upload_folder: Path, out: Path) -> dict[str, str]:
    hashes = {}
    target_root = out / EVIDENCE_DIR
    target_root.mkdir()
    if not upload_folder.is_dir():
        return hashes
    for path in sorted(p for p in upload_folder.rglob("*") if p.is_file() and not p.name.startswith(".healthz-")):
        relative = path.relative_to(upload_folder).as_posix()
        target = target_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        hashes[relative] = sha256_file(target)
    return hashes


def _copy_objects(store, out: Path) -> dict[str, str]:
    """The S3 backend's objects into the backup, each checked against the SHA-256 it is keyed by."""
    hashes, bad = {}, []
    target_root = out / EVIDENCE_DIR
    target_root.mkdir()
    for key in sorted(store.keys()):
        relative = key[len(store.prefix):]
        target = target_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        hashes[relative] = store.download_to(key, target)
        if hashes[relative] != relative.rsplit("/", 1)[-1]:
            bad.append(key)
    if bad:
        raise BackupError(f"{len(bad)} object(s) in the evidence store do not match the SHA-256 they are kept "
                          f"under (the first: {bad[0]}); restore them from an earlier backup.")
    return hashes


def create_backup(out_dir: str, upload_folder: str) -> dict:
    """Write a backup into `out_dir` (new or empty) and return its manifest; one backup at a time per database
    (BackupBusy, before anything is written, if another is running)."""
    with backup_lock():
        return _create_backup(out_dir, upload_folder)


def _create_backup(out_dir: str, upload_folder: str) -> dict:
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty: back up into a new directory.")
    out.mkdir(parents=True, exist_ok=True)
    dialect = db.engine.dialect.name
    started = utcnow()
    if dialect == "sqlite":
        counts, head, events = _backup_sqlite(out)
    elif dialect == "postgresql":
        counts, head, events = _backup_postgresql(out)
    else:
        raise BackupError(f"Backups of {dialect} databases are not supported.")
    store = backend()
    evidence = _copy_evidence(Path(upload_folder), out) if store.name == "local" else _copy_objects(store, out)
    database_files = {p.relative_to(out).as_posix(): sha256_file(p)
                      for p in sorted(out.rglob("*")) if p.is_file() and not p.relative_to(out).parts[0] == EVIDENCE_DIR}
    manifest = {
        "format": FORMAT_VERSION,
        "dialect": dialect,
        "started_at": started.isoformat(),
        "finished_at": utcnow().isoformat(),
        "row_counts": counts,
        "audit_chain": {"events": events, "head_hash": head},
        "database_files": database_files,
        "evidence": evidence,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


# --- Restore ------------------------------------------------------------------------------------

def _decoder(column: sa.Column):
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return dt.datetime.fromisoformat
    if isinstance(kind, sa.Date):
        return dt.date.fromisoformat
    if isinstance(kind, sa.Time):
        return dt.time.fromisoformat
    if isinstance(kind, sa.Numeric) and kind.asdecimal:
        return decimal.Decimal
    if isinstance(kind, sa.LargeBinary):
        return lambda v: base64.b64decode(v["$base64"])
    return None


def _rows_from_jsonl(path: Path, table: sa.Table):
    decoders = {c.name: d for c in table.columns if (d := _decoder(c))}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            for name, decode in decoders.items():
                if row.get(name) is not None:
                    row[name] = decode(row[name])
            yield row


def _batched(rows, size: int = 500):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _load_rows(source: Path, manifest: dict) -> None:
    """Insert every backed-up row into the (empty) portal database, parents first, in the session's transaction."""
    conn = db.session.connection()
    sqlite_source = None
    if manifest["dialect"] == "sqlite":
        sqlite_source = sa.create_engine(f"sqlite:///{source / SQLITE_FILE}", poolclass=sa.pool.NullPool)
    try:
        for table in _tables():
            if table.name not in manifest["row_counts"]:
                raise BackupError(f"The backup has no table {table.name}: it is from another version of the portal.")
            if sqlite_source is not None:
                with sqlite_source.connect() as src:
                    rows = [dict(r) for r in src.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()]
            else:
                rows = _rows_from_jsonl(source / TABLES_DIR / f"{table.name}.jsonl", table)
            for batch in _batched(rows):
                conn.execute(table.insert(), batch)
    finally:
        if sqlite_source is not None:
            sqlite_source.dispose()
    if conn.dialect.name == "postgresql":
        # Explicit ids were inserted: move each sequence past them so new rows do not collide.
        for table in _tables():
            for column in table.primary_key.columns:
                if column.autoincrement is True or (column.autoincrement == "auto" and isinstance(column.type, sa.Integer)):
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{column.name}'), "
                        f"COALESCE((SELECT MAX(\"{column.name}\") FROM \"{table.name}\"), 0) + 1, false) "
                        f"WHERE pg_get_serial_sequence('\"{table.name}\"', '{column.name}') IS NOT NULL"))


def _verify_files(source: Path, manifest: dict) -> list[str]:
    problems = []
    for relative, expected in manifest["database_files"].items():
        if sha256_file(source / relative) != expected:
            problems.append(f"backup file {relative} does not match its SHA-256 in the manifest")
    return problems


def _is_empty() -> bool:
    existing = set(sa.inspect(db.engine).get_table_names())
    return not any(db.session.scalar(sa.select(sa.func.count()).select_from(t))
                   for t in _tables() if t.name in existing)


def _restore_objects(store, source: Path, manifest: dict, sent: list) -> list[str]:
    """Send the backup's evidence files to the S3 backend; each is refused unless it hashes to its name and
    to the manifest (the upload re-hashes it as it streams)."""
    problems = []
    for relative, expected in manifest["evidence"].items():
        name = relative.rsplit("/", 1)[-1]
        path = source / EVIDENCE_DIR / relative
        if name != expected or sha256_file(path) != expected:
            problems.append(f"evidence file {relative} does not match its SHA-256")
            continue
        store.upload_file(path, path.stat().st_size, expected)
        sent.append(expected)
    return problems


def restore_backup(source_dir: str, upload_folder: str) -> RestoreReport:
    """Rebuild an empty portal from a backup and verify it; nothing is kept unless every check passes."""
    source = Path(source_dir)
    try:
        manifest = json.loads((source / "manifest.json").read_text())
    except (OSError, ValueError) as err:
        raise BackupError(f"{source} has no readable manifest.json: {err}")
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError("The backup was written by another version of the portal.")
    problems = _verify_files(source, manifest)
    if problems:
        raise BackupError("; ".join(problems))
    if not sa.inspect(db.engine).get_table_names():
        db.create_all()
    if not _is_empty():
        raise BackupError("The target database is not empty: restore only into a new, empty portal.")
    store = backend()
    evidence_target = Path(upload_folder)
    if store.name != "local":
        if store.keys():
            raise BackupError(f"The evidence bucket {store.bucket} is not empty.")
    elif evidence_target.is_dir() and any(p for p in evidence_target.iterdir()
                                          if not p.name.startswith(".healthz-")):
        raise BackupError(f"The evidence folder {evidence_target} is not empty.")

    copied: list = []  # local paths written, or (s3) the hashes sent
    try:
        _load_rows(source, manifest)
        db.session.flush()
        counts = {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in _tables()}
        problems += [f"{name}: {counts.get(name)} rows restored, {n} in the backup"
                     for name, n in manifest["row_counts"].items() if counts.get(name) != n]
        chain = verify_chain()
        if not chain.ok:
            problems.append(f"audit chain broken at event {chain.first_broken_id}: {chain.problem}")
        if chain.head_hash != manifest["audit_chain"]["head_hash"] or chain.checked != manifest["audit_chain"]["events"]:
            problems.append(f"audit chain head {chain.head_hash} ({chain.checked} events) does not match the "
                            f"backup's {manifest['audit_chain']['head_hash']} ({manifest['audit_chain']['events']} events)")
        if store.name != "local":
            problems += _restore_objects(store, source, manifest, copied)
        for relative, expected in manifest["evidence"].items() if store.name == "local" else ():
            target = evidence_target / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / EVIDENCE_DIR / relative, target)
            copied.append(target)
            if sha256_file(target) != expected:
                problems.append(f"evidence file {relative} does not match its SHA-256")
        if problems:
            raise BackupError("Restore failed verification: " + "; ".join(problems))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for path in copied:
            if isinstance(path, Path):
                path.unlink(missing_ok=True)
            else:
                store.remove(path)  # under Object Lock only a delete marker: the bucket was empty before
        raise
    return RestoreReport(counts, chain.head_hash, chain.checked, len(copied))
