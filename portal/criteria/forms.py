"""Shapes of the assessment and evidence request forms."""
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovPasswordInput, GovRadioInput, GovTextArea, GovTextInput
from wtforms import PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import InputRequired, Optional

from ..forms import MaxLength, PortalForm, SubmitButton
from ..releases.forms import DateInRange, UkDateField
from .models import AssessmentKind, AssessmentStatus

STATUS_CHOICES = [(s.value, s.label) for s in AssessmentStatus]
KIND_CHOICES = [(AssessmentKind.PRELIMINARY.value, "Preliminary (progress before the deadline)"),
                (AssessmentKind.FINAL.value, "Final (signed; locks the criterion's evidence)")]


class AssessmentForm(PortalForm):
    status = RadioField("Status", widget=GovRadioInput(), choices=STATUS_CHOICES,
                        validators=[InputRequired("Select a status")])
    rationale = StringField("Rationale", widget=GovTextArea(),
                            validators=[InputRequired("Enter the rationale"), MaxLength(10000)])
    kind = RadioField("Kind of assessment", widget=GovRadioInput(), choices=KIND_CHOICES,
                      validators=[InputRequired("Select preliminary or final")])
    revision_reason = StringField("Why you are revising the final assessment", widget=GovTextArea(),
                                  description="The earlier final assessment is kept beside the new one.",
                                  validators=[Optional(), MaxLength(10000)])
    password = PasswordField("Your password (to sign a final assessment)", widget=GovPasswordInput(),
                             validators=[Optional(), MaxLength(200)])
    record = SubmitField("Record assessment", widget=SubmitButton())


class RequestForm(PortalForm):
    question = StringField("What do you need from the owner?", widget=GovTextArea(),
                           validators=[InputRequired("Enter your question"), MaxLength(10000)])
    due_on = UkDateField("Answer by (optional)", description="For example, 27 3 2021",
                         validators=[Optional(), DateInRange("The answer-by date")])
    ask = SubmitField("Ask for evidence", widget=SubmitButton())


class AnswerForm(PortalForm):
    comment = StringField("Your answer", widget=GovTextArea(), validators=[Optional(), MaxLength(10000)])
    file = FileField("File (optional)", widget=GovFileInput())
    description = StringField("Description of the file", widget=GovTextInput(),
                              validators=[Optional(), MaxLength(2000)])
    send = SubmitField("Send answer", widget=SubmitButton())


class CloseRequestForm(PortalForm):
    close = SubmitField("Close request", widget=SubmitButton())
