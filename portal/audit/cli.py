"""`flask audit verify`: check the whole chain, its signed checkpoints and the witness; name the first problem."""
import json
import os
import sys

import click
from flask.cli import with_appcontext

from ..extensions import db
from .services import NotAPack, sign_checkpoint_now, verify_audit


@click.group("audit", help="The audit trail.")
def audit_cli():
    pass


@audit_cli.command("verify")
@click.option("--pack", "pack_file", type=click.File("r", encoding="utf-8"),
              help="Also check the database against this exported decision pack (JSON).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes that walk a long chain at once (default: one per CPU core).")
@with_appcontext
def verify(pack_file, workers):
    """Check every event's link, key and content against the signed checkpoints; exit 1 at the first problem."""
    pack = None
    if pack_file:
        try:
            pack = json.load(pack_file)
        except ValueError as err:
            raise click.ClickException(f"{pack_file.name} is not JSON: {err}") from None
    try:
        report = verify_audit(pack, workers=workers or len(os.sched_getaffinity(0)))
    except NotAPack as err:
        raise click.ClickException(f"{pack_file.name} is not a decision pack ({err}).") from None
    for note in report.notes:
        click.echo(f"Note: {note}.", err=True)
    if report.ok:
        checkpoint = (f"; the newest signed checkpoint covers {report.witnessed} events" if report.witnessed
                      else "; no signed checkpoint yet")
        click.echo(f"Audit chain verified: {report.checked} events, head {report.head_hash}{checkpoint}.")
        return
    if report.first_broken_id is None:
        click.echo(f"Audit chain BROKEN: {report.problem}.", err=True)
    else:
        click.echo(f"Audit chain BROKEN at event {report.first_broken_id}: {report.problem}. "
                   f"{report.checked} events before it verify.", err=True)
    sys.exit(1)


@audit_cli.command("checkpoint")
@with_appcontext
def checkpoint():
    """Sign a checkpoint of the chain's length and head now (into the database and the witness), unless the head
    is already signed; safe to schedule on every host at once."""
    signed = sign_checkpoint_now()
    db.session.commit()
    if signed is None:
        click.echo("Checkpoint: the chain's head is already signed (or nothing to sign); nothing to do.")
    else:
        click.echo(f"Checkpoint signed: {signed.length} events, head {signed.head_hash}.")
