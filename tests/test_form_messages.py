"""Every form's error messages are the portal's own, in GOV.UK style: never a WTForms default such as "Field
cannot be longer than 2000 characters" or "This field is required."."""
from __future__ import annotations

import importlib
import pkgutil

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, FileField, HiddenField, SubmitField

import portal

DEFAULTS = ("Field cannot be longer", "Field must be", "This field is required", "Invalid input", "Not a valid",
            "Invalid value", "Invalid Choice", "Field must be between", "is not a valid")


def _form_classes() -> list[type[FlaskForm]]:
    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        if module.name.endswith("forms"):
            importlib.import_module(module.name)
    found, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith("portal."):
            found.append(cls)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


FORMS = _form_classes()


def _answers(form_class, app, fill: str) -> MultiDict:
    with app.test_request_context():
        form = form_class(meta={"csrf": False})
        return MultiDict({f.name: fill for f in form if not isinstance(f, (SubmitField, FileField, BooleanField))})


@pytest.mark.parametrize("form_class", FORMS, ids=[f"{c.__module__.split('.', 1)[1]}.{c.__name__}" for c in FORMS])
@pytest.mark.parametrize("fill", ["", "x" * 20001, "not a real choice", "\t"], ids=["empty", "too long", "odd", "tab"])
def test_no_message_is_a_wtforms_default(app, form_class, fill):
    assert len(FORMS) > 20
    with app.test_request_context(method="POST"):
        form = form_class(formdata=_answers(form_class, app, fill), meta={"csrf": False})
        for field in form:
            if getattr(field, "choices", ()) is None:
                field.choices = []  # set by the view from the data (the people, the releases)
        form.validate()
        defaults = [(name, message) for name, messages in form.errors.items() for message in messages
                    if any(d.lower() in str(message).lower() for d in DEFAULTS)
                    and not isinstance(getattr(form, name, None), HiddenField)]
    assert not defaults, defaults
