"""Shapes of the recommendation, vote, decision, go-live and re-planning forms."""
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxesInput, GovFileInput, GovPasswordInput,
                                                GovRadioInput, GovSelect, GovTextArea, GovTextInput)
from wtforms import (DateField, DateTimeField, HiddenField, PasswordField, RadioField, SelectField,
                     SelectMultipleField, StringField, SubmitField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp
from wtforms.widgets import HiddenInput

from ..forms import DateInput, MaxLength, PortalForm, Select, SubmitButton
from ..ids import IdField, coerce_id
from ..releases.forms import DateInRange
from .models import Choice, ConfirmationKind, RecommendationKind

PASSWORD_HINT = "Re-enter your password to sign."


def _password(label: str = "Your password") -> PasswordField:
    return PasswordField(label, widget=GovPasswordInput(), description=PASSWORD_HINT,
                         validators=[InputRequired("Enter your password to sign"), MaxLength(200)])


class RecommendationForm(PortalForm):
    kind = RadioField("Recommendation to the Panel", widget=GovRadioInput(),
                      choices=[(k.value, k.label) for k in RecommendationKind],
                      validators=[InputRequired("Choose a recommendation")])
    conditions = TextAreaField("Conditions the DCC must meet (one on each line)", widget=GovTextArea(),
                               description="Only for 'Implement subject to conditions'. The DCC marks each one "
                                           "met with its evidence; OpsG then accepts it.",
                               validators=[Length(max=5000, message="Conditions must be 5000 characters or fewer")])
    secas_conditions = TextAreaField("Conditions SECAS must meet (one on each line)", widget=GovTextArea(),
                                     description="Only for 'Implement subject to conditions'.",
                                     validators=[Length(max=5000,
                                                        message="Conditions must be 5000 characters or fewer")])
    reasons = TextAreaField("Reasons", widget=GovTextArea(),
                            validators=[DataRequired("Enter the reasons for the recommendation"),
                                        MaxLength(10000)])
    password = _password()
    submit = SubmitField("Sign and record the recommendation", widget=SubmitButton())


class ClosingTimeField(DateTimeField):
    """A UK date and time typed in one box, like 17/02/2021 17:00; left empty, no time."""

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%d/%m/%Y %H:%M", **kwargs)

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                super().process_formdata([valuelist[0].strip()])
            except ValueError:
                raise ValueError("Enter a real closing time like 17/02/2021 17:00") from None


class OpenVoteForm(PortalForm):
    closes_at = ClosingTimeField("Closing time (optional)",
                                 description="UK time, for example 17/02/2021 17:00. Leave empty to close by hand.",
                                 validators=[DateInRange("The closing time")])
    submit = SubmitField("Open the Panel vote", widget=SubmitButton())


class BallotForm(PortalForm):
    member_id = IdField("Member", widget=HiddenInput(), validators=[InputRequired("Choose whom you vote for")])
    choice = RadioField("Your vote", widget=GovRadioInput(), choices=[(c.value, c.label) for c in Choice],
                        validators=[InputRequired("Choose Go, No-go or Abstain")])
    comment = TextAreaField("Comment (optional)", widget=GovTextArea(), validators=[MaxLength(5000)])
    password = _password()
    submit = SubmitField("Sign and cast the vote", widget=SubmitButton())


class AlternateForm(PortalForm):
    alternate_id = SelectField("Alternate", widget=Select(), coerce=coerce_id, validate_choice=True,
                               description="Any active SEC Panel user, whether or not they are a member of this vote.",
                               validators=[InputRequired("Choose your alternate")])
    submit = SubmitField("Appoint the alternate", widget=SubmitButton())


class ConflictForm(PortalForm):
    note = TextAreaField("Conflict of interest", widget=GovTextArea(),
                         validators=[DataRequired("Describe the conflict of interest"), MaxLength(5000)])
    submit = SubmitField("Declare the conflict", widget=SubmitButton())


class CloseVoteForm(PortalForm):
    submit = SubmitField("Close the vote", widget=SubmitButton())


class DecisionForm(PortalForm):
    reasons = TextAreaField("The Panel's reasons", widget=GovTextArea(),
                            validators=[DataRequired("Enter the Panel's reasons"), MaxLength(10000)])
    password = _password()
    submit = SubmitField("Sign and record the decision", widget=SubmitButton())


class ConfirmationForm(PortalForm):
    kind = HiddenField("Confirmation", validators=[InputRequired(), Regexp(
        "^(" + "|".join(k.value for k in ConfirmationKind) + ")$", message="Choose a confirmation")])
    sec_version = StringField("New SEC version", widget=GovTextInput(), description="For example SEC v40.0.",
                              validators=[Optional(), MaxLength(20), Regexp(
                                  r"^SEC v\d+(\.\d+)*$", message="Enter the SEC version like SEC v40.0")])
    note = TextAreaField("Note (optional)", widget=GovTextArea(), validators=[MaxLength(5000)])
    password = _password()
    submit = SubmitField("Sign and confirm", widget=SubmitButton())


class DayMonthYearField(DateField):
    """A date typed as day, month and year boxes; any other number of parts is simply invalid."""

    def process_formdata(self, valuelist):
        if valuelist and len(valuelist) != 3:
            valuelist = (list(valuelist) + ["", "", ""])[:3]
            self.raw_data = valuelist
        super().process_formdata(valuelist)


class ReplanForm(PortalForm):
    new_go_live = DayMonthYearField("New go-live date", widget=DateInput(), format="%d %m %Y",
                                    validators=[InputRequired("Enter the new go-live date as day, month and year"),
                                                DateInRange("The new go-live date")])
    change_note = TextAreaField("Change note for the new RID version", widget=GovTextArea(),
                                validators=[DataRequired("Enter a change note"), MaxLength(5000)])
    withdraw = SelectMultipleField("Modifications to withdraw from the release", widget=GovCheckboxesInput(),
                                   coerce=coerce_id, validate_choice=True)
    move_mp = SelectField("Move a modification to another release (optional)", widget=GovSelect(), coerce=coerce_id,
                          default=0, validate_choice=True)
    move_to = SelectField("Release it moves to", widget=GovSelect(), coerce=coerce_id, default=0, validate_choice=True)
    submit = SubmitField("Re-plan and return to evidence gathering", widget=SubmitButton())


class ReassessmentForm(PortalForm):
    criteria = SelectMultipleField("Criteria to reopen", widget=GovCheckboxesInput(), coerce=coerce_id,
                                   validate_choice=True, validators=[DataRequired("Choose one or more criteria")])
    submit = SubmitField("Reopen these criteria", widget=SubmitButton())


class RevokeAlternateForm(PortalForm):
    submit = SubmitField("Revoke your alternate", widget=SubmitButton())


class ConditionMetForm(PortalForm):
    statement = TextAreaField("How the condition has been met", widget=GovTextArea(),
                              validators=[DataRequired("Enter a statement of how the condition has been met"),
                                          Length(max=10000, message="The statement must be 10000 characters or fewer")])
    file = FileField("Supporting file (optional)", widget=GovFileInput(),
                     description="PDF, Word, Excel, PowerPoint, OpenDocument, CSV, plain text, PNG or JPEG.")
    submit = SubmitField("Mark the condition as met", widget=SubmitButton())


class AcceptConditionForm(PortalForm):
    submit = SubmitField("Accept the condition as met", widget=SubmitButton())


class WaiveConditionForm(PortalForm):
    reason = TextAreaField("The Panel's reason for waiving the condition", widget=GovTextArea(),
                           validators=[DataRequired("Enter the Panel's reason for waiving the condition"),
                                       Length(max=5000, message="The reason must be 5000 characters or fewer")])
    submit = SubmitField("Waive the condition", widget=SubmitButton())
