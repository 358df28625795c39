"""Shapes of the evidence forms."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovTextArea
from ..widgets import SubmitButton
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional, Regexp


class UploadForm(FlaskForm):
    file = FileField("File", widget=GovFileInput(),
                     description="PDF, Word, Excel, PowerPoint, OpenDocument, CSV, plain text, PNG or JPEG.")
    description = StringField("Description of the file", widget=GovTextArea(),
                              validators=[InputRequired("Enter a description of the file"), Length(max=2000)])
    replaces = HiddenField("Replaces file", validators=[Optional(), Regexp(r"^\d{1,12}$")])
    upload = SubmitField("Upload file", widget=SubmitButton())


class WithdrawForm(FlaskForm):
    reason = StringField("Reason for withdrawing", widget=GovTextArea(),
                         validators=[InputRequired("Enter the reason for withdrawing the file"), Length(max=2000)])
    withdraw = SubmitField("Withdraw file", widget=SubmitButton())


class StatementForm(FlaskForm):
    text = StringField("Written statement", widget=GovTextArea(),
                       description="Why no file is needed, or what the evidence shows.",
                       validators=[InputRequired("Enter the statement"), Length(max=10000)])
    save_statement = SubmitField("Save statement", widget=SubmitButton())


class SubmitEvidenceForm(FlaskForm):
    submit_evidence = SubmitField("Submit evidence", widget=SubmitButton())
