"""The shape of SECAS's edit of a draft notice, and of the publish button (its CSRF token only)."""
from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovTextArea, GovTextInput
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired

from ..forms import MaxLength, PortalForm, SubmitButton
from .services import SUMMARY_MAX, TITLE_MAX


class NoticeForm(PortalForm):
    title = StringField("Title", widget=GovTextInput(),
                        validators=[DataRequired("Enter the notice's title"), MaxLength(TITLE_MAX)])
    summary = TextAreaField("Text", widget=GovTextArea(),
                            description="Shown above the lists of modifications and documents, which come from "
                                        "the RID as it stood at go-live.",
                            validators=[DataRequired("Enter the notice's text"), MaxLength(SUMMARY_MAX)])
    submit = SubmitField("Save the draft", widget=SubmitButton())


class PublishNoticeForm(PortalForm):
    submit = SubmitField("Publish the notice", widget=SubmitButton())
