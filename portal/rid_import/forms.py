"""Shapes of the RID import forms (SECAS). The target release's choices are set by the view."""
from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovTextInput
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Optional, Regexp

from ..forms import MaxLength, PortalForm, Select, SubmitButton


class UploadRidForm(PortalForm):
    file = FileField("RID document", widget=GovFileInput(), validators=[FileRequired("Choose a RID document")],
                     description="A PDF, Word document (.docx) or plain text file of at most 20 MB, with its text "
                                 "(not a scan).")
    target = SelectField("Import it as", widget=Select(), default="", validate_choice=True)
    code = StringField("Code of the new release (optional)", widget=GovTextInput(),
                       description="For a new release. Left empty, it comes from the go-live date, like feb-2021.",
                       validators=[Optional(), MaxLength(40),
                                   Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$",
                                          message="Code must be lower-case letters, digits and hyphens, like jun-2021")])
    submit = SubmitField("Read the document", widget=SubmitButton())


class ConfirmImportForm(PortalForm):
    submit = SubmitField("Confirm and save", widget=SubmitButton())
