"""Bounds on integer ids from URLs and forms: a number the database cannot hold is no id (a 404 or 422, not a 500)."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter
from wtforms import IntegerField

# PostgreSQL's INTEGER (our ids, and every number in a URL) stops here; no row of this app comes near it.
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """The `int` URL converter, refusing numbers above MAX_ID (the route then does not match: a 404)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def coerce_id(value) -> int:
    """`coerce=` for select fields of ids: out of range is a ValueError, so the field refuses it."""
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError("That is not one of the choices")
    return number


def bounded_int(value: str) -> int:
    """`type=` for integer query arguments (pages, cursors): beyond MAX_ID either way is a ValueError, so the
    argument counts as absent."""
    number = int(value)
    if abs(number) > MAX_ID:
        raise ValueError("out of range")
    return number


class IdField(IntegerField):
    """An integer form field holding an id: a number beyond MAX_ID is refused, never sent to the database."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not 0 <= self.data <= MAX_ID:
            self.data = None
            raise ValueError("That is not one of the choices")
