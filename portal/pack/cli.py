"""`flask portal import-pack FILE`: reproduce a release's record from its decision pack JSON."""
import json

import click
from flask.cli import with_appcontext

from ..access import PortalError
from ..extensions import db
from .services import import_pack


@click.command("import-pack")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@with_appcontext
def import_pack_command(file):
    """Import a decision pack (JSON) into a portal that does not yet hold its release."""
    try:
        data = json.load(file)
    except json.JSONDecodeError as err:
        raise click.ClickException(f"{file.name} is not JSON: {err}") from None
    try:
        release, skipped = import_pack(None, data)
    except PortalError as err:
        db.session.rollback()
        raise click.ClickException(err.message) from None
    db.session.commit()
    click.echo(f"Imported {release.name} ({release.code}).")
    for item in skipped:
        click.echo(f"  Not carried over: {item}")
