"""`flask rid import FILE [--release CODE] [--dry-run] [--json]`: the importer on the command line."""
from __future__ import annotations

import json
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..access import PortalError
from ..extensions import db
from ..releases.models import ParticipantGroup, Release
from .extract import LIMITS, NotARid
from .reader import DEFAULT_GROUPS, read_rid
from .services import import_new_release, import_rid_version


@click.group("rid", help="The RID as a document.")
def rid_cli():
    pass


def known_groups() -> tuple[str, ...]:
    """The participant groups the portal knows, to split a matrix header whose words run together."""
    names = tuple(db.session.scalars(sa.select(ParticipantGroup.name).order_by(ParticipantGroup.position)))
    return tuple(dict.fromkeys(names + DEFAULT_GROUPS))


@rid_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--release", "code", help="The release's code: an existing draft gets a new RID version; otherwise "
                                        "a new release with this code (default: from the go-live date, feb-2021).")
@click.option("--dry-run", is_flag=True, help="Read the file and report; save nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print what was read as JSON (the RID's data).")
@with_appcontext
def import_command(file: Path, code: str | None, dry_run: bool, as_json: bool):
    """Read a RID document (PDF, DOCX or text) into a release."""
    if file.stat().st_size > LIMITS["bytes"]:
        raise click.ClickException(f"{file.name}: a RID document must be at most {LIMITS['bytes'] // 2 ** 20} MB.")
    try:
        reading = read_rid(file.name, file.read_bytes(), known_groups())
    except NotARid as err:
        raise click.ClickException(f"{file.name}: {err}") from None
    if as_json:
        click.echo(json.dumps(reading.as_json(), indent=2, ensure_ascii=False))
    else:
        for section in reading.sections:
            click.echo(f"{section.title}: {len(section.items)} item(s) read")
    for warning in reading.warnings:
        click.echo(f"Warning, line {warning.line}: {warning.why} “{warning.text}”", err=True)
    if dry_run:
        if not as_json:
            click.echo("Dry run: nothing saved.")
        return
    release = db.session.scalar(sa.select(Release).where(Release.code == code)) if code else None
    try:
        if release is not None:
            version = import_rid_version(None, release, reading, filename=file.name)
            message = f"{release.name} ({release.code}): RID version {version.number} imported from {file.name}."
        else:
            release = import_new_release(None, reading, code=code, filename=file.name)
            message = f"Created {release.name} ({release.code}) from {file.name}."
    except PortalError as err:
        db.session.rollback()
        raise click.ClickException(err.message) from None
    db.session.commit()
    click.echo(message, err=as_json)
