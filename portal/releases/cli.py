"""`flask portal ...`: demo data and operational commands."""
import click
from flask.cli import with_appcontext

from ..extensions import db
from . import demo


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
