"""Shapes of the login and account forms."""
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput, GovPasswordInput, GovRadioInput, GovTextInput
from wtforms import BooleanField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length, Optional, Regexp

from ..forms import MaxLength, PortalForm, SubmitButton
from ..access import Role
from .services import MIN_PASSWORD_LENGTH

ROLE_CHOICES = [(r.value, r.label) for r in Role]


class LoginForm(PortalForm):
    email = StringField("Email address", widget=GovTextInput(),
                        validators=[InputRequired("Enter your email address"), MaxLength(254)])
    password = PasswordField("Password", widget=GovPasswordInput(),
                             validators=[InputRequired("Enter your password"), MaxLength(200)])
    submit = SubmitField("Sign in", widget=SubmitButton())


class SetPasswordForm(PortalForm):
    # Required except at the first sign-in (the view decides: the one-time password was typed a moment ago).
    current_password = PasswordField("Current password", widget=GovPasswordInput(),
                                     validators=[Optional(), MaxLength(200)])
    password = PasswordField(
        "New password", widget=GovPasswordInput(),
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
        validators=[InputRequired("Enter a new password"),
                    Length(min=MIN_PASSWORD_LENGTH, max=200,
                           message=f"Password must be at least {MIN_PASSWORD_LENGTH} characters")])
    confirm = PasswordField("Confirm new password", widget=GovPasswordInput(),
                            validators=[InputRequired("Confirm your new password"),
                                        EqualTo("password", "The passwords do not match")])
    submit = SubmitField("Save password", widget=SubmitButton())


class SignOutForm(PortalForm):
    submit = SubmitField("Sign out everywhere", widget=SubmitButton())


class UserForm(PortalForm):
    name = StringField("Full name", widget=GovTextInput(),
                       validators=[InputRequired("Enter the person's full name"), MaxLength(200)])
    organisation = StringField("Organisation", widget=GovTextInput(),
                               validators=[InputRequired("Enter the organisation"), MaxLength(200)])
    role = RadioField("Role", widget=GovRadioInput(), choices=ROLE_CHOICES,
                      validators=[InputRequired("Select a role")])
    is_admin = BooleanField("Portal administrator (SECAS only)", widget=GovCheckboxInput())
    is_chair = BooleanField("Chair of their group (OpsG or Panel)", widget=GovCheckboxInput())
    alternate_only = BooleanField(
        "Panel alternate only, not a Panel member", widget=GovCheckboxInput(),
        description="They vote only when a Panel member appoints them, instead of that member, and are not "
                    "counted among the members who may vote")
    submit = SubmitField("Save", widget=SubmitButton())


class NewUserForm(UserForm):
    email = StringField("Email address", widget=GovTextInput(),
                        validators=[InputRequired("Enter an email address"),
                                    Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an email address in the correct format, like name@example.com"),
                                    MaxLength(254)])
    submit = SubmitField("Add user", widget=SubmitButton())


class EditUserForm(UserForm):
    active = BooleanField("Account active (clear to deactivate: they can no longer sign in)",
                          widget=GovCheckboxInput())


class NewPasswordForm(PortalForm):
    """Choosing a password from an emailed link (an invitation or a reset): the same rules as a change."""

    password = PasswordField(
        "New password", widget=GovPasswordInput(),
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
        validators=[InputRequired("Enter a new password"),
                    Length(min=MIN_PASSWORD_LENGTH, message=f"Password must be at least {MIN_PASSWORD_LENGTH} characters"),
                    Length(max=200, message="Password must be 200 characters or fewer")])
    confirm = PasswordField("Confirm new password", widget=GovPasswordInput(),
                            validators=[InputRequired("Confirm your new password"),
                                        EqualTo("password", "The passwords do not match")])
    submit = SubmitField("Save password", widget=SubmitButton())


class ForgottenPasswordForm(PortalForm):
    email = StringField("Email address", widget=GovTextInput(),
                        validators=[InputRequired("Enter your email address"),
                                    Length(max=254, message="Email address must be 254 characters or fewer")])
    submit = SubmitField("Send me a link", widget=SubmitButton())


class ResendInvitationForm(PortalForm):
    submit = SubmitField("Resend invitation", widget=SubmitButton())


class RevokeInvitationForm(PortalForm):
    submit = SubmitField("Revoke invitation", widget=SubmitButton())
