"""Buttons on the calendar page (CSRF-protected POSTs)."""
from flask_wtf import FlaskForm
from wtforms import SubmitField

from ..widgets import SubmitButton


class CreateLinkForm(FlaskForm):
    submit = SubmitField("Create a calendar link", widget=SubmitButton())


class RevokeLinkForm(FlaskForm):
    submit = SubmitField("Revoke my calendar link", widget=SubmitButton())
