"""The notification settings form: one email-or-portal choice per kind of notification."""
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput
from wtforms import RadioField, SubmitField
from wtforms.validators import InputRequired

from ..forms import PortalForm, SubmitButton
from .models import KINDS, Channel

CHANNEL_CHOICES = [(Channel.EMAIL.value, "By email and in the portal"), (Channel.PORTAL.value, "In the portal only")]


class PreferencesForm(PortalForm):
    submit = SubmitField("Save settings", widget=SubmitButton())

    def channels(self) -> dict[str, str]:
        return {kind: self[kind].data for kind in KINDS}


for _kind, _label in KINDS.items():
    setattr(PreferencesForm, _kind, RadioField(
        _label, choices=CHANNEL_CHOICES, widget=GovRadioInput(),
        validators=[InputRequired(f"Choose how to receive ‘{_label}’ notifications")]))


class MarkReadForm(PortalForm):
    submit = SubmitField("Mark all as read", widget=SubmitButton())
