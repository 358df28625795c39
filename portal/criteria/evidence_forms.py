"""Shapes of the evidence forms."""
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovTextArea
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import InputRequired, Optional, Regexp

from ..forms import MaxLength, PortalForm, SubmitButton


class UploadForm(PortalForm):
    file = FileField("File", widget=GovFileInput(),
                     description="PDF, Word, Excel, PowerPoint, OpenDocument, CSV, plain text, PNG or JPEG.")
    description = StringField("Description of the file", widget=GovTextArea(),
                              validators=[InputRequired("Enter a description of the file"), MaxLength(2000)])
    replaces = HiddenField("Replaces file", validators=[Optional(), Regexp(r"^\d{1,12}$")])
    upload = SubmitField("Upload file", widget=SubmitButton())


class WithdrawForm(PortalForm):
    reason = StringField("Reason for withdrawing", widget=GovTextArea(),
                         validators=[InputRequired("Enter the reason for withdrawing the file"), MaxLength(2000)])
    withdraw = SubmitField("Withdraw file", widget=SubmitButton())


class StatementForm(PortalForm):
    text = StringField("Written statement", widget=GovTextArea(),
                       description="Why no file is needed, or what the evidence shows.",
                       validators=[InputRequired("Enter the statement"), MaxLength(10000)])
    save_statement = SubmitField("Save statement", widget=SubmitButton())


class SubmitEvidenceForm(PortalForm):
    submit_evidence = SubmitField("Submit evidence", widget=SubmitButton())
