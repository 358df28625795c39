"""Choosing the two RID versions to compare (a GET form: it changes nothing, so it carries no CSRF token)."""
from __future__ import annotations

from wtforms import SelectField, SubmitField

from ..forms import PortalForm, Select, SubmitButton


class CompareForm(PortalForm):
    class Meta:
        csrf = False

    submit = SubmitField("Compare", widget=SubmitButton())


# `from` is a Python keyword: the fields are named as the query string names them (?from=0.1&to=1.0).
setattr(CompareForm, "from", SelectField("Compare version", widget=Select()))
setattr(CompareForm, "to", SelectField("with version", widget=Select()))
