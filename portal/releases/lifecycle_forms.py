"""The forms of creating a release and moving a modification (SECAS). Choices from the database are set by views."""
from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovTextArea, GovTextInput
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Optional, Regexp

from ..forms import MaxLength, PortalForm, Select, SubmitButton
from ..ids import coerce_id
from .forms import DateInRange, DateRequired, UkDateField


class NewReleaseForm(PortalForm):
    template_id = SelectField("Start from", widget=Select(), coerce=coerce_id, default=0, validate_choice=True,
                              description="An earlier release's acceptance criteria, glossary, test phases and "
                                          "timeline are copied; its scope, impacts and costs are not.")
    code = StringField("Code", widget=GovTextInput(), description="Used in the page's address, for example jun-2021.",
                       validators=[DataRequired("Enter the release's code"), MaxLength(40),
                                   Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$",
                                          message="Code must be lower-case letters, digits and hyphens, like jun-2021")])
    name = StringField("Name", widget=GovTextInput(), description="For example, June 2021 SEC Release.",
                       validators=[DataRequired("Enter the release's name"), MaxLength(200)])
    planned_go_live = UkDateField("Planned go-live date", description="A Working Day. For example, 24 6 2021.",
                                  validators=[DateRequired("Enter the planned go-live date"),
                                              DateInRange("The planned go-live date")])
    sec_version = StringField("SEC version to be published", widget=GovTextInput(),
                              description="For example, SEC v40.0.",
                              validators=[DataRequired("Enter the SEC version to be published"), MaxLength(20)])
    submit = SubmitField("Create the release", widget=SubmitButton())


class MoveModificationForm(PortalForm):
    target_id = SelectField("Release it moves to", widget=Select(), coerce=coerce_id, default=0,
                            validate_choice=True)
    change_note = TextAreaField("Change note", widget=GovTextArea(),
                                description="A baselined RID gets a new version with this note.",
                                validators=[Optional(), MaxLength(2000)])
    submit = SubmitField("Move the modification", widget=SubmitButton())
