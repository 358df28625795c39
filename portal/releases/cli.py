"""`flask portal ...`: demo data and operational commands."""
import click
from flask.cli import with_appcontext

import sqlalchemy as sa

from ..extensions import db
from . import demo, rid_live
from .models import Release


@click.group("portal", help="Portal operations.")
def portal_cli():
    pass


@portal_cli.command("demo")
@with_appcontext
def load_demo():
    """Load the February 2021 SEC Release and the demo users (safe to run again)."""
    users = demo.load_demo_users()
    release, created = demo.load_demo_release()
    db.session.commit()
    click.echo(f"{release.name}: {'loaded' if created else 'already present'}.")
    click.echo(f"Demo users (password for all: {demo.DEMO_PASSWORD}):")
    for user, _created in users:
        flags = ", ".join(f for f, on in (("admin", user.is_admin), ("chair", user.is_chair)) if on)
        click.echo(f"  {user.email:30} {user.role.label:10} {flags}")


@portal_cli.command("refresh-rid")
@click.option("--all", "everything", is_flag=True, help="Also releases whose stored RID is already filled.")
@with_appcontext
def refresh_rid(everything: bool):
    """Fill each release's stored current RID (Release.rid_live) from its tables, e.g. after upgrading."""
    query = sa.select(Release.id)
    ids = list(db.session.scalars(query if everything else query.where(Release.rid_live.is_(None))))
    rid_live.refresh(ids)
    db.session.commit()
    click.echo(f"Stored the current RID of {len(ids)} release(s).")
