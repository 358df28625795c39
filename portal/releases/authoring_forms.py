"""Forms for writing the RID (portal/releases/authoring.py): adding, removing and reordering rows, narratives."""
from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextArea, GovTextInput
from wtforms import RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Optional, ValidationError

from ..forms import MaxLength, SubmitButton
from .forms import (QUALIFIER_CHOICES, YES_NO, CostItemForm, DateInRange, RidChangeForm, UkDateField,
                    _required_text)
from .models import ScopeStatus

ADD_STATUS_CHOICES = [(ScopeStatus.APPROVED.value, "Approved"), (ScopeStatus.TARGETED.value, "Targeted"),
                      (ScopeStatus.WITHDRAWN.value, "Withdrawn")]


class ScopeAddForm(RidChangeForm):
    reference = StringField("Modification reference", widget=GovTextInput(),
                            description="For example, MP122. An alternative, such as MP122A, has its own reference.",
                            validators=_required_text("Enter the modification's reference, like MP122", 20))
    title = StringField("Title (optional)", widget=GovTextInput(),
                        description="Only for a modification not yet in the portal.",
                        validators=[Optional(), MaxLength(300)])
    url = StringField("Link to the modification (optional)", widget=GovTextInput(),
                      description="Only for a modification not yet in the portal.",
                      validators=[Optional(), MaxLength(500)])
    status = RadioField("Status", widget=GovRadioInput(), choices=ADD_STATUS_CHOICES,
                        validators=[InputRequired("Choose the modification's status")])
    cutoff_date = UkDateField("Decision cut-off date",
                              description="Needed for a targeted modification. For example, 30 10 2020",
                              validators=[DateInRange("The decision cut-off date")])
    summary = TextAreaField("Summary", widget=GovTextArea(), validators=_required_text("Enter a one-line summary", 2000))

    def validate_url(self, field):
        if field.data and not field.data.strip().lower().startswith(("https://", "http://")):
            raise ValidationError("Enter the link as a web address starting https://")


class ChangeRequestForm(RidChangeForm):
    reference = StringField("Change Request reference", widget=GovTextInput(),
                            validators=_required_text("Enter the Change Request's reference, like CR1234", 20))
    title = StringField("Title", widget=GovTextInput(),
                        validators=_required_text("Enter the Change Request's title", 300))


class GlossaryForm(RidChangeForm):
    acronym = StringField("Acronym", widget=GovTextInput(), validators=_required_text("Enter the acronym", 20))
    term = StringField("Full term", widget=GovTextInput(), validators=_required_text("Enter the full term", 200))


class OtherCodeForm(RidChangeForm):
    code = StringField("Code impacted", widget=GovTextInput(), validators=_required_text("Enter the Code impacted", 100))
    description = TextAreaField("How it is impacted", widget=GovTextArea(),
                                validators=_required_text("Enter how the Code is impacted", 4000))


class NewImpactSummaryForm(RidChangeForm):
    kind = RadioField("Impacts on", widget=GovRadioInput(), choices=[("party", "SEC Parties"), ("dcc", "The DCC")],
                      validators=[InputRequired("Choose SEC Party or DCC impacts")])
    subject = StringField("Participant or area impacted", widget=GovTextInput(),
                          description="For example, All SEC Parties, or Contractual changes.",
                          validators=_required_text("Enter who or what is impacted", 200))
    text = TextAreaField("Summary of impacts", widget=GovTextArea(),
                         validators=_required_text("Enter the summary of impacts", 4000))


class ParticipantGroupForm(RidChangeForm):
    name = StringField("Participant group", widget=GovTextInput(),
                       description="A column of the participant impact matrix, in every release's RID.",
                       validators=_required_text("Enter the participant group's name", 100))


class SecDocumentForm(RidChangeForm):
    name = StringField("Document", widget=GovTextInput(), description="For example, Section H or Appendix AL.",
                       validators=_required_text("Enter the document's name, like Section H", 100))
    title = StringField("Title", widget=GovTextInput(), validators=_required_text("Enter the document's title", 300))


class _TestPhaseNameForm(RidChangeForm):
    """A new phase's names: declared before TestPhaseForm so that the add form asks for them first."""

    phase = StringField("Phase", widget=GovTextInput(), description="Its short name, for example PIT.",
                        validators=_required_text("Enter the phase's short name, like PIT", 10))
    name = StringField("Name", widget=GovTextInput(), description="For example, Pre-Integration Testing.",
                       validators=_required_text("Enter the phase's name", 100))


class TestPhaseForm(RidChangeForm):
    applies = RadioField("Is this testing required?", widget=GovRadioInput(), choices=YES_NO,
                         validators=[InputRequired("Choose whether this testing is required")])
    reason = TextAreaField("Reason", widget=GovTextArea(), validators=[Optional(), MaxLength(4000)])


class NewTestPhaseForm(TestPhaseForm, _TestPhaseNameForm):
    pass


class NewCostItemForm(CostItemForm):
    qualifier = RadioField("How firm is the amount?", widget=GovRadioInput(), choices=QUALIFIER_CHOICES,
                           default="fixed", validators=[InputRequired("Choose how firm the amount is")])
    budgeted = RadioField("Already budgeted?", widget=GovRadioInput(), choices=YES_NO, default="no",
                                  validators=[InputRequired("Choose whether the cost is already budgeted")])


class RemoveForm(RidChangeForm):
    submit = SubmitField("Remove", widget=SubmitButton())


class WithdrawForm(RidChangeForm):
    """Withdrawing a criterion always asks why (the record's note; once baselined, the new version's change note)."""

    always_note = True
    change_note = TextAreaField(
        "Reason for withdrawing the criterion", widget=GovTextArea(),
        description="Its evidence and assessments stay in the record; the release will no longer need it.",
        validators=[InputRequired("Say why the criterion is withdrawn"),
                    MaxLength(2000)])
    submit = SubmitField("Withdraw the criterion", widget=SubmitButton())


class MoveForm(RidChangeForm):
    direction = RadioField("Move", widget=GovRadioInput(), choices=[("up", "Up"), ("down", "Down")],
                           validators=[InputRequired("Choose to move it up or down"),
                                       AnyOf(["up", "down"], message="Choose to move it up or down")])
    submit = SubmitField("Move", widget=SubmitButton())


class NarrativeForm(RidChangeForm):
    text = TextAreaField("Text", widget=GovTextArea(), description="Leave blank for no narrative.",
                         validators=[Optional(), MaxLength(4000)])

