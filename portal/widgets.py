"""Form widgets shared by every package's forms."""
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput


class SubmitButton(GovSubmitInput):
    """A GOV.UK button with no id: no label points at a button, and a page often holds several forms whose buttons
    are all named `submit` (the same id twice is invalid HTML)."""

    def map_gov_params(self, field, **kwargs):
        params = super().map_gov_params(field, **kwargs)
        params.pop("id", None)
        return params
