"""Shapes of the RID edit forms (SECAS). Choices that come from the database are filled in by the views."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxesInput, GovRadioInput,
                                                GovSelect, GovTextArea, GovTextInput)
from wtforms import DateField, Field, RadioField, SelectField, SelectMultipleField, StringField, SubmitField, \
    TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, StopValidation, ValidationError

from ..forms import DateInput, MaxLength, PortalForm, SubmitButton
from ..access import Role
from ..ids import coerce_id
from ..timeutil import check_date_in_range
from .models import MilestoneKind, ScopeStatus

ROLE_CHOICES = [(r.value, r.label) for r in Role]
PARTY_CHOICES = [("DCC", "DCC"), ("SECAS", "SECAS")]
SCOPE_STATUS_CHOICES = [(ScopeStatus.APPROVED.value, "Approved"), (ScopeStatus.TARGETED.value, "Targeted"),
                        (ScopeStatus.WITHDRAWN.value, "Withdrawn"),
                        (ScopeStatus.MOVED.value, "Moved to another release")]
QUALIFIER_CHOICES = [("estimated", "Estimated (“estimated to be £340,000”)"),
                     ("around", "Approximate (“around £1,200”)"), ("fixed", "Fixed (the amount as it stands)")]
YES_NO = [("yes", "Yes"), ("no", "No")]
MILESTONE_KIND_CHOICES = [(MilestoneKind.OTHER.value, "Other event"), (MilestoneKind.BASELINE.value, "Baselining"),
                          (MilestoneKind.EVIDENCE.value, "Evidence submission"),
                          (MilestoneKind.OPSG_REVIEW.value, "OpsG review"),
                          (MilestoneKind.PANEL_DECISION.value, "Panel go/no-go decision"),
                          (MilestoneKind.GO_LIVE.value, "Go-live")]
# Largest amount a cost item may hold: £10 billion keeps well inside a BIGINT of pence.
MAX_PENCE = 10_000_000_000 * 100
AMOUNT_RE = re.compile(r"^\d{1,3}(,\d{3})*(\.\d{1,2})?$|^\d+(\.\d{1,2})?$")


def parse_pounds(text: str) -> int:
    """'1,200' or '£1200.50' → pence; ValueError with a message a user can act on."""
    cleaned = text.strip().removeprefix("£").strip()
    if not AMOUNT_RE.match(cleaned):
        raise ValueError("Enter the amount in pounds, like 1,200 or 1200.50")
    try:
        pence = int(Decimal(cleaned.replace(",", "")) * 100)
    except InvalidOperation:
        raise ValueError("Enter the amount in pounds, like 1,200 or 1200.50") from None
    if pence > MAX_PENCE:
        raise ValueError("The amount must be £10,000,000,000 or less")
    return pence


def format_pounds(pence: int) -> str:
    return f"{pence / 100:,.2f}".removesuffix(".00")


class PoundsField(Field):
    """An amount typed in pounds, held as pence."""

    widget = GovTextInput()

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_pounds(self.data) if self.data is not None else ""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            self.data = parse_pounds(valuelist[0])
        elif valuelist:
            # Spaces alone are no amount: InputRequired must refuse them as it refuses an empty box.
            self.raw_data = [""]


class UkDateField(DateField):
    """Day, month and year boxes; anything else sent under the name is refused rather than crashing the widget."""

    widget = DateInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%d %m %Y", **kwargs)

    def process_formdata(self, valuelist):
        if len(valuelist) != 3:
            self.raw_data = ["", "", ""]
            self.data = None
            raise ValueError("Enter the date as a day, month and year")
        if not any(v.strip() for v in valuelist):
            self.data = None
            return
        try:
            super().process_formdata([" ".join(v.strip() for v in valuelist)])
        except ValueError:
            raise ValueError("Enter a real date, like 14 8 2020") from None


class DateInRange:
    """Every typed date: between 2000 and 2100, named as `what` ("The new go-live date") in the message."""

    def __init__(self, what: str):
        self.what = what

    def __call__(self, form, field):
        day = field.data.date() if isinstance(field.data, dt.datetime) else field.data
        problem = day and check_date_in_range(day, self.what)
        if problem:
            raise ValidationError(problem)


class DateRequired:
    """A date must be given (all three boxes)."""

    field_flags = {"required": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if field.data is None and not field.errors:
            raise StopValidation(self.message)


def _required_text(message: str, max_length: int):
    return [DataRequired(message), Length(max=max_length, message=f"Must be {max_length} characters or fewer")]


class RidChangeForm(PortalForm):
    """Every RID edit: its change note is needed once the RID is baselined (the view decides), and shown always
    where the form says so (`always_note`)."""

    always_note = False

    change_note = TextAreaField(
        "Change note", widget=GovTextArea(),
        description="The RID is baselined: this change makes a new RID version. Say what changed and why.",
        validators=[Optional(), Length(max=2000, message="The change note must be 2000 characters or fewer")])
    submit = SubmitField("Save", widget=SubmitButton())


class ScopeEntryForm(RidChangeForm):
    status = RadioField("Status", widget=GovRadioInput(), choices=SCOPE_STATUS_CHOICES,
                        validators=[InputRequired("Choose the modification's status")])
    cutoff_date = UkDateField("Decision cut-off date", description="Leave blank if not stated. For example, 14 8 2020",
                              validators=[DateInRange("The decision cut-off date")])
    summary = TextAreaField("Summary", widget=GovTextArea(),
                            validators=_required_text("Enter a one-line summary", 2000))
    moved_to_id = SelectField("Moved to release", widget=GovSelect(), choices=[],
                              coerce=lambda v: int(v) if v not in (None, "") else None,
                              description="Only when the status is 'Moved to another release'.")

    def validate_moved_to_id(self, field):
        if self.status.data == ScopeStatus.MOVED and field.data is None:
            raise ValidationError("Choose the release the modification has moved to")


class MilestoneForm(RidChangeForm):
    due_on = UkDateField("Date", description="For example, 14 8 2020",
                         validators=[DateRequired("Enter the date"), DateInRange("The date")])
    event = StringField("Event", widget=GovTextInput(), validators=_required_text("Enter the event", 300))
    notes = TextAreaField("Notes", widget=GovTextArea(), validators=[Optional(), MaxLength(2000)])
    acting_role = RadioField("Who acts", widget=GovRadioInput(), choices=ROLE_CHOICES,
                             validators=[InputRequired("Choose who acts")])


class NewMilestoneForm(MilestoneForm):
    kind = RadioField("Kind of event", widget=GovRadioInput(), choices=MILESTONE_KIND_CHOICES,
                      default=MilestoneKind.OTHER.value, validators=[InputRequired("Choose the kind of event")])


class CriterionForm(RidChangeForm):
    text = TextAreaField("Criterion", widget=GovTextArea(),
                         validators=_required_text("Enter the criterion's text", 4000))
    owner_role = RadioField("Owner", widget=GovRadioInput(), choices=ROLE_CHOICES,
                            validators=[InputRequired("Choose who owns the criterion")])


class CostItemForm(RidChangeForm):
    party = RadioField("Party", widget=GovRadioInput(), choices=PARTY_CHOICES,
                       validators=[InputRequired("Choose who incurs the cost")])
    description = TextAreaField("Description", widget=GovTextArea(),
                                validators=_required_text("Enter what the cost is for", 2000))
    amount_pence = PoundsField("Amount in pounds", description="For example, 1,200 or 1200.50",
                               validators=[InputRequired("Enter the amount in pounds")])
    # How the RID words the amount, and whether it is already budgeted (left as they are when not sent).
    qualifier = RadioField("How firm is the amount?", widget=GovRadioInput(), choices=QUALIFIER_CHOICES,
                           validators=[Optional()])
    budgeted = RadioField("Already budgeted?", widget=GovRadioInput(), choices=YES_NO, validators=[Optional()])


class ImpactSummaryForm(RidChangeForm):
    text = TextAreaField("Summary of impacts", widget=GovTextArea(),
                         validators=_required_text("Enter the summary of impacts", 4000))


class TicksForm(RidChangeForm):
    """One row of an impact matrix: which columns are ticked (choices set by the view)."""

    ticked = SelectMultipleField("Impacted", widget=GovCheckboxesInput(), coerce=coerce_id, choices=[])


class BaselineForm(PortalForm):
    """The Panel chair baselines the RID, naming the Panel meeting that did so and the minute that records it."""

    meeting_on = UkDateField("Date of the Panel meeting", description="For example, 14 10 2020.",
                             validators=[DateRequired("Enter the date of the Panel meeting"),
                                         DateInRange("The date of the Panel meeting")])
    minute_ref = StringField("Minute reference", widget=GovTextInput(),
                             description="The minute that records the decision to baseline, for example 84/03.",
                             validators=_required_text("Enter the minute reference", 100))
    submit = SubmitField("Baseline the RID", widget=SubmitButton())
