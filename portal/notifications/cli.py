"""`flask portal deliver-mail` and `flask portal send-reminders`, both meant for cron."""
import click
from flask.cli import with_appcontext

from ..extensions import db
from .delivery import deliver_outbox
from .reminders import send_reminders, send_vote_reminders


@click.command("deliver-mail")
@with_appcontext
def deliver_mail():
    """Send queued email from the outbox (retrying failed ones whose backoff has passed)."""
    report = deliver_outbox()
    click.echo(f"Outbox: {report.sent} sent, {report.retrying} to retry, {report.failed} given up, "
               f"{report.kept} kept (no mail server).")


@click.command("send-reminders")
@with_appcontext
def send_reminders_command():
    """Remind the acting role of milestones due soon and of overdue steps, and Panel members who have not voted
    of a vote closing soon (each reminder once)."""
    sent = send_reminders(None) + send_vote_reminders(None)
    db.session.commit()
    click.echo(f"Reminders sent: {len(sent)}.")
    for line in sent:
        click.echo(f"  {line}")
    report = deliver_outbox()
    click.echo(f"Outbox: {report.sent} sent, {report.retrying} to retry, {report.kept} kept (no mail server).")
