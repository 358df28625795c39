"""Buttons on the calendar page (CSRF-protected POSTs)."""
from wtforms import SubmitField

from ..forms import PortalForm, SubmitButton



class CreateLinkForm(PortalForm):
    submit = SubmitField("Create a calendar link", widget=SubmitButton())


class RevokeLinkForm(PortalForm):
    submit = SubmitField("Revoke my calendar link", widget=SubmitButton())
