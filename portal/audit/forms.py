"""The audit trail's filter form (a GET form: filters are part of the link)."""
from govuk_frontend_wtf.wtforms_widgets import GovSelect
from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import Optional, ValidationError

from ..forms import DateInput, PortalForm, SubmitButton
from ..releases.forms import DateInRange


class OptionalDateField(DateField):
    """A day/month/year date that may be left out of the query altogether."""

    def process(self, formdata, data=None, extra_filters=None):
        super().process(formdata, data, extra_filters)
        if not self.raw_data:  # the GOV.UK date widget expects three parts or none
            self.raw_data = None


class TrailFilterForm(PortalForm):
    class Meta:
        csrf = False  # a read-only GET search

    person = SelectField("Person", widget=GovSelect(), validate_choice=True, default="")
    role = SelectField("Role", widget=GovSelect(), default="")
    kind = SelectField("Kind of event", widget=GovSelect(), default="")
    date_from = OptionalDateField("From (UK date)", widget=DateInput(), format="%d %m %Y",
                                  validators=[Optional(), DateInRange("The ‘from’ date")])
    date_to = OptionalDateField("To (UK date, inclusive)", widget=DateInput(), format="%d %m %Y",
                                validators=[Optional(), DateInRange("The ‘to’ date")])
    submit = SubmitField("Filter events", widget=SubmitButton())

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The ‘to’ date must be the same as or after the ‘from’ date.")
