"""`flask portal clean-uploads`: remove stray temp files from interrupted uploads, report orphaned files."""
import time

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..decisions.models import Condition
from ..extensions import db
from . import storage
from .evidence_models import EvidenceFile


@click.command("clean-uploads")
@click.option("--older-than-minutes", default=60, show_default=True,
              help="Only remove temp files at least this old (younger ones may be uploads in progress).")
@click.option("--remove-orphans", is_flag=True, help="Also delete stored files that no evidence row refers to.")
@with_appcontext
def clean_uploads(older_than_minutes: int, remove_orphans: bool):
    """Remove stray upload temp files; report (or remove) stored files with no evidence row."""
    known = set(db.session.scalars(sa.select(EvidenceFile.sha256).distinct()))
    known |= set(db.session.scalars(sa.select(Condition.file_sha256).where(Condition.file_sha256.is_not(None))))
    temps, orphans = storage.scan(known)
    cutoff = time.time() - older_than_minutes * 60
    temps = [p for p in temps if p.stat().st_mtime <= cutoff]
    for path in temps:
        path.unlink(missing_ok=True)
    click.echo(f"Removed {len(temps)} stray temporary file(s).")
    for path in orphans:
        click.echo(f"Orphan (no evidence row): {path}")
        if remove_orphans:
            path.unlink(missing_ok=True)
    click.echo(f"{len(orphans)} orphaned file(s){' removed' if remove_orphans and orphans else ''}.")
