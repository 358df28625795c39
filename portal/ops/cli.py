"""`flask portal backup DIR` and `flask portal restore DIR`: run by an operator, never from a page."""
import click
from flask import current_app
from flask.cli import with_appcontext

from .backup import BackupBusy, BackupError, create_backup, restore_backup


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False))
@with_appcontext
def backup_command(directory):
    """Copy the database (consistently, while the portal runs) and the evidence files into DIRECTORY.

    One backup at a time per database: scheduled on every host, the others report that they are skipped and
    exit 0 (their copy is being made), writing nothing."""
    try:
        manifest = create_backup(directory, current_app.config["UPLOAD_FOLDER"])
    except BackupBusy as err:
        click.echo(f"Backup skipped: {err}")
        return
    except BackupError as err:
        raise click.ClickException(str(err))
    click.echo(f"Backup written to {directory}: {sum(manifest['row_counts'].values())} rows, "
               f"{manifest['audit_chain']['events']} audit events (head {manifest['audit_chain']['head_hash']}), "
               f"{len(manifest['evidence'])} evidence files.")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@with_appcontext
def restore_command(directory):
    """Rebuild an EMPTY portal from the backup in DIRECTORY and verify counts, audit chain and file hashes."""
    try:
        report = restore_backup(directory, current_app.config["UPLOAD_FOLDER"])
    except BackupError as err:
        raise click.ClickException(str(err))
    click.echo(f"Restored and verified: {sum(report.row_counts.values())} rows, {report.events} audit events "
               f"(head {report.head_hash}), {report.evidence_files} evidence files.")
