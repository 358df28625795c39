"""Shapes of the two-factor forms: a code, a password to turn it off, the roles that must use it."""
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput, GovPasswordInput, GovTextInput
from wtforms import PasswordField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from ..forms import MaxLength, PortalForm, SubmitButton
from .forms import ROLE_CHOICES


class CodeForm(PortalForm):
    code = StringField("Code", widget=GovTextInput(),
                       description="The 6-digit code from your authenticator app, or one of your recovery codes.",
                       validators=[InputRequired("Enter the code from your authenticator app"), MaxLength(40)])
    submit = SubmitField("Continue", widget=SubmitButton())


class EnrolForm(PortalForm):
    code = StringField("Code from the app", widget=GovTextInput(),
                       description="Enter the 6-digit code your app shows for the SEC Release Portal.",
                       validators=[InputRequired("Enter the 6-digit code from your authenticator app"),
                                   Length(max=10, message="The code is 6 digits")])
    submit = SubmitField("Turn on two-factor sign-in", widget=SubmitButton())


class DisableForm(PortalForm):
    password = PasswordField("Your password", widget=GovPasswordInput(),
                             validators=[InputRequired("Enter your password"), MaxLength(200)])
    submit = SubmitField("Turn off two-factor sign-in", widget=SubmitButton())


class ResetForm(PortalForm):
    password = PasswordField("Your password (to confirm the reset)", widget=GovPasswordInput(),
                             validators=[InputRequired("Enter your password to confirm the reset"), MaxLength(200)])
    submit = SubmitField("Reset two-factor sign-in", widget=SubmitButton())


class PolicyForm(PortalForm):
    roles = SelectMultipleField("Roles that must use two-factor sign-in", widget=GovCheckboxesInput(),
                                choices=ROLE_CHOICES,
                                description="Their members set it up the next time they use the portal.")
    submit = SubmitField("Save", widget=SubmitButton())
