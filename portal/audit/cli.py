"""`flask audit verify`: check the whole chain and name the first broken event."""
import sys

import click
from flask.cli import with_appcontext

from .services import verify_chain


@click.group("audit", help="The audit trail.")
def audit_cli():
    pass


@audit_cli.command("verify")
@with_appcontext
def verify():
    """Check every event's link and content; exit 1 at the first broken one."""
    report = verify_chain()
    if report.ok:
        click.echo(f"Audit chain verified: {report.checked} events, head {report.head_hash}.")
        return
    click.echo(f"Audit chain BROKEN at event {report.first_broken_id}: {report.problem}. "
               f"{report.checked} events before it verify.", err=True)
    sys.exit(1)
