"""Buttons on the calendar page (CSRF-protected POSTs)."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import SubmitField


class CreateLinkForm(FlaskForm):
    submit = SubmitField("Create a calendar link", widget=GovSubmitInput())


class RevokeLinkForm(FlaskForm):
    submit = SubmitField("Revoke my calendar link", widget=GovSubmitInput())
