"""`flask users create`: accounts from the command line."""
import click
from flask.cli import with_appcontext

from ..access import PortalError, Role
from ..extensions import db
from . import services


@click.group("users", help="Manage portal accounts.")
def users_cli():
    pass


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default=None, help="Full name (defaults to the email's local part).")
@click.option("--organisation", default=None)
@click.option("--admin", is_flag=True, help="Portal administrator (SECAS only).")
@click.option("--chair", is_flag=True, help="Chair of OpsG or the Panel.")
@click.option("--password", default=None, help="First password (generated when omitted).")
@with_appcontext
def create(email, role, name, organisation, admin, chair, password):
    """Create an account; the user sets their own password at first sign-in."""
    role = Role(role)
    try:
        user, first_password = services.create_user(
            None, email=email, name=name or email.split("@")[0], role=role,
            organisation=organisation or role.label, is_admin=admin, is_chair=chair,
            password=password)
    except PortalError as err:
        raise click.ClickException(err.message)
    db.session.commit()
    click.echo(f"Created {user.email} ({role.label}). First password: {first_password}")
