"""Form parts shared by every package's forms: the GOV.UK widgets as the portal renders them, and validators whose
messages follow the GOV.UK pattern (never WTForms' defaults, such as "Field cannot be longer than 2000 characters")."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovSelect, GovSubmitInput
from wtforms.validators import Length, ValidationError

# WTForms' own messages, for the answers a page never offers (a tampered choice, a missing field), in GOV.UK words.
MESSAGES = {
    "Not a valid choice.": "Select one of the options shown",
    "Invalid Choice: could not coerce.": "Select one of the options shown",
    "'%(value)s' is not a valid choice for this field.": "Select from the options shown",
    "'%(value)s' are not valid choices for this field.": "Select from the options shown",
    "Invalid choice(s): one or more data inputs could not be coerced.": "Select from the options shown",
    "Not a valid integer value.": "Enter a whole number",
    "Not a valid decimal value.": "Enter a number",
    "Not a valid float value.": "Enter a number",
    "Not a valid date value.": "Enter a real date",
    "Not a valid datetime value.": "Enter a real date and time",
    "This field is required.": "Enter an answer",
    "Invalid input.": "Enter a valid answer",
}


class _Messages:
    def gettext(self, string: str) -> str:
        return MESSAGES.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


class PortalForm(FlaskForm):
    """Every form of the portal: WTForms' built-in messages in GOV.UK words."""

    class Meta:
        def get_translations(self, form):
            return _Messages()


class SubmitButton(GovSubmitInput):
    """A GOV.UK button with no id: no label points at a button, and a page often holds several forms whose buttons
    are all named `submit` (the same id twice is invalid HTML)."""

    def map_gov_params(self, field, **kwargs):
        params = super().map_gov_params(field, **kwargs)
        params.pop("id", None)
        return params


class DateInput(GovDateInput):
    """The GOV.UK date input (day, month, year), as every date field of the portal renders it."""

    def __call__(self, field, **kwargs):
        # A required date is told by its error message; `required` would land on the wrapping div (invalid HTML).
        kwargs.setdefault("required", False)
        return super().__call__(field, **kwargs)

    def map_gov_params(self, field, **kwargs):
        # A post with a missing or extra part comes back as the 422 form, not a 500 (the parent unpacks three).
        if field.raw_data is not None and len(field.raw_data) != 3:
            field.raw_data = (list(field.raw_data) + ["", "", ""])[:3]
        params = super().map_gov_params(field, **kwargs)
        params.get("attributes", {}).pop("required", None)
        return params


class Select(GovSelect):
    """The GOV.UK select, without HTML's `required` (a required select must open on an empty placeholder; the
    portal tells a missing choice by its error message, as GOV.UK forms do)."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("required", False)
        return super().__call__(field, **kwargs)

    def map_gov_params(self, field, **kwargs):
        params = super().map_gov_params(field, **kwargs)
        params.get("attributes", {}).pop("required", None)
        return params


def with_ids(form, suffix: str):
    """Ids unique on the page for a form that shares field names with another form there (the error summary
    links to them): `file` becomes `file-answer`."""
    for field in form:
        field.id = f"{field.name}-{suffix}"
    return form


def _what(field) -> str:
    """The field's label as the subject of a sentence: "Comment (optional)" -> "Comment"."""
    text = str(field.label.text).replace("(optional)", "").strip()
    return text[0].upper() + text[1:] if text else "This answer"


class MaxLength(Length):
    """At most `max` characters, or "Description of the file must be 2,000 characters or fewer"."""

    def __init__(self, max: int):
        super().__init__(max=max)

    def __call__(self, form, field):
        if field.data and len(field.data) > self.max:
            raise ValidationError(f"{_what(field)} must be {self.max:,} characters or fewer")
