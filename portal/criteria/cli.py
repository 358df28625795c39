"""`flask portal clean-uploads`: remove stray temp files and abort incomplete multipart uploads left by interrupted
uploads; report orphaned files."""
import datetime as dt
import time

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..decisions.models import Condition
from ..extensions import db
from . import storage
from .backends import backend
from .evidence_models import EvidenceFile


@click.command("clean-uploads")
@click.option("--older-than-minutes", default=60, show_default=True,
              help="Only remove temp files and abort multipart uploads at least this old (younger ones may be "
                   "uploads in progress).")
@click.option("--remove-orphans", is_flag=True, help="Also delete stored files that no evidence row refers to.")
@with_appcontext
def clean_uploads(older_than_minutes: int, remove_orphans: bool):
    """Remove stray upload temp files and abort incomplete multipart uploads; report (or remove) stored files with
    no evidence row."""
    known = set(db.session.scalars(sa.select(EvidenceFile.sha256).distinct()))
    known |= set(db.session.scalars(sa.select(Condition.file_sha256).where(Condition.file_sha256.is_not(None))))
    store = backend()
    cutoff = time.time() - older_than_minutes * 60
    temps = [p for p in storage.stray_temps() if p.stat().st_mtime <= cutoff]
    for path in temps:
        path.unlink(missing_ok=True)
    click.echo(f"Removed {len(temps)} stray temporary file(s).")
    aborted = store.abort_incomplete(dt.timedelta(minutes=older_than_minutes))
    if store.name != "local":
        click.echo(f"Aborted {len(aborted)} incomplete multipart upload(s).")
    orphans = store.orphans(known)
    for orphan in orphans:
        click.echo(f"Orphan (no evidence row): {orphan}")
        if remove_orphans:
            store.remove_orphan(orphan)
    click.echo(f"{len(orphans)} orphaned file(s){' removed' if remove_orphans and orphans else ''}.")
