"""Working Days: weekends and England and Wales bank holidays (with substitute days) are not counted."""
import datetime as dt
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import timeutil
from portal.timeutil import (UK, add_working_days, check_date_in_range, due_phrase, is_working_day,
                             move_by_working_days, shift_to_day, today, uk_time, utcnow, why_not_working_day,
                             working_days_between)

D = dt.date


@pytest.mark.parametrize("day", [
    D(2020, 12, 25),  # Christmas Day, Friday
    D(2020, 12, 26),  # Boxing Day, Saturday
    D(2020, 12, 28),  # Boxing Day substitute, Monday
    D(2021, 12, 27),  # Christmas Day substitute (25th was a Saturday)
    D(2021, 12, 28),  # Boxing Day substitute (26th was a Sunday)
    D(2022, 1, 3),    # New Year's Day substitute
    D(2021, 4, 2),    # Good Friday
    D(2021, 4, 5),    # Easter Monday
    D(2021, 2, 6),    # Saturday
    D(2021, 2, 7),    # Sunday
])
def test_holidays_and_weekends_are_not_working_days(day):
    assert not is_working_day(day)


@pytest.mark.parametrize("day", [D(2020, 12, 24), D(2020, 12, 29), D(2021, 12, 24), D(2021, 4, 1), D(2021, 4, 6)])
def test_ordinary_weekdays_are_working_days(day):
    assert is_working_day(day)


def test_counting_across_christmas_2020():
    # Thu 24 Dec -> Tue 29 Dec: Fri 25, Sat 26, Sun 27 and Mon 28 (substitute) are all off.
    assert working_days_between(D(2020, 12, 24), D(2020, 12, 29)) == 1
    assert add_working_days(D(2020, 12, 24), 1) == D(2020, 12, 29)
    # ...and on into New Year's Day 2021 (Friday): Tue 29, Wed 30, Thu 31, then Mon 4 Jan.
    assert add_working_days(D(2020, 12, 24), 4) == D(2021, 1, 4)


def test_counting_across_christmas_2021_with_two_substitute_days():
    # Thu 23 Dec -> Fri 24 (working), Mon 27 and Tue 28 (substitutes) off, Wed 29.
    assert add_working_days(D(2021, 12, 23), 2) == D(2021, 12, 29)
    assert working_days_between(D(2021, 12, 23), D(2021, 12, 29)) == 2
    # New Year's Day 2022 fell on a Saturday: Monday 3 January is off too.
    assert add_working_days(D(2021, 12, 31), 1) == D(2022, 1, 4)


def test_counting_across_easter_2021():
    # Thu 1 Apr -> Tue 6 Apr: Good Friday, the weekend and Easter Monday are off.
    assert working_days_between(D(2021, 4, 1), D(2021, 4, 6)) == 1
    assert add_working_days(D(2021, 4, 1), 1) == D(2021, 4, 6)
    assert add_working_days(D(2021, 4, 6), -1) == D(2021, 4, 1)


def test_counting_across_a_weekend():
    assert working_days_between(D(2021, 2, 5), D(2021, 2, 8)) == 1
    assert add_working_days(D(2021, 2, 5), 3) == D(2021, 2, 10)
    assert add_working_days(D(2021, 2, 6), 1) == D(2021, 2, 8)  # from a Saturday
    assert working_days_between(D(2021, 2, 8), D(2021, 2, 5)) == -1


def test_zero_working_days_is_the_same_day():
    assert add_working_days(D(2021, 2, 6), 0) == D(2021, 2, 6)
    assert working_days_between(D(2021, 2, 8), D(2021, 2, 8)) == 0


@pytest.mark.parametrize("due, on, phrase", [
    (D(2021, 2, 10), D(2021, 2, 5), "due in 3 Working Days"),     # over a weekend
    (D(2021, 2, 8), D(2021, 2, 5), "due in 1 Working Day"),
    (D(2020, 12, 29), D(2020, 12, 24), "due in 1 Working Day"),   # over Christmas
    (D(2021, 4, 7), D(2021, 4, 1), "due in 2 Working Days"),      # over Easter
    (D(2021, 2, 5), D(2021, 2, 5), "due today"),
    (D(2021, 2, 4), D(2021, 2, 8), "2 Working Days overdue"),
    (D(2021, 4, 1), D(2021, 4, 6), "1 Working Day overdue"),       # Easter does not count against you
    (D(2020, 12, 24), D(2020, 12, 31), "3 Working Days overdue"),
])
def test_due_phrase(due, on, phrase):
    assert due_phrase(due, on) == phrase


def test_due_phrase_uses_the_portal_today(app):
    app.config["PORTAL_TODAY"] = "2021-02-05"
    with app.app_context():
        assert due_phrase(D(2021, 2, 10)) == "due in 3 Working Days"


def test_uk_time_shows_british_summer_time():
    assert uk_time(dt.datetime(2021, 6, 1, 12, 30, tzinfo=dt.timezone.utc)) == "1 June 2021, 1:30pm"
    assert uk_time(dt.datetime(2021, 1, 1, 9, 5)) == "1 January 2021, 9:05am"  # naive = UTC


@settings(max_examples=300, deadline=None)
@given(start=st.dates(dt.date(2015, 1, 1), dt.date(2035, 12, 31)), span=st.integers(-1200, 1200))
def test_counting_by_weeks_agrees_with_counting_day_by_day(start, span):
    """working_days_between counts whole weeks then weekday bank holidays; a day-by-day walk must agree."""
    end = start + dt.timedelta(days=span)
    lo, hi = sorted((start, end))
    walked = sum(1 for n in range(1, (hi - lo).days + 1) if is_working_day(lo + dt.timedelta(days=n)))
    assert working_days_between(start, end) == (walked if end >= start else -walked)


@pytest.mark.parametrize("day, sentence", [
    (D(2021, 3, 6), "Saturday 6 March 2021 is not a Working Day: it is a weekend."),
    (D(2021, 3, 7), "Sunday 7 March 2021 is not a Working Day: it is a weekend."),
    (D(2021, 4, 2), "Friday 2 April 2021 is not a Working Day: it is a bank holiday (Good Friday)."),
    (D(2021, 4, 5), "Monday 5 April 2021 is not a Working Day: it is a bank holiday (Easter Monday)."),
    (D(2020, 12, 25), "Friday 25 December 2020 is not a Working Day: it is a bank holiday (Christmas Day)."),
    (D(2021, 12, 25), "Saturday 25 December 2021 is not a Working Day: it is a weekend."),
    (D(2021, 12, 27),
     "Monday 27 December 2021 is not a Working Day: it is a bank holiday (substitute day for Christmas Day)."),
    (D(2021, 12, 28),
     "Tuesday 28 December 2021 is not a Working Day: it is a bank holiday (substitute day for Boxing Day)."),
    (D(2022, 1, 3),
     "Monday 3 January 2022 is not a Working Day: it is a bank holiday (substitute day for New Year's Day)."),
    (D(2021, 12, 24), None),
    (D(2021, 4, 6), None),
])
def test_why_not_working_day_names_the_day_and_the_reason(day, sentence):
    assert why_not_working_day(day) == sentence


@settings(max_examples=300, deadline=None)
@given(day=st.dates(dt.date(2015, 1, 1), dt.date(2035, 12, 31)))
def test_why_not_working_day_agrees_with_is_working_day(day):
    assert (why_not_working_day(day) is None) == is_working_day(day)


@pytest.mark.parametrize("day, old, new, moved", [
    # Evidence 5 Working Days before a go-live moved by four weeks: 5 Working Days before the new go-live.
    (D(2021, 2, 18), D(2021, 2, 25), D(2021, 3, 25), D(2021, 3, 18)),
    # ...and when the new go-live follows Easter, the count steps over Good Friday and Easter Monday.
    (D(2021, 2, 18), D(2021, 2, 25), D(2021, 4, 8), D(2021, 3, 30)),
    # 3 Working Days after a go-live moved to Wednesday 22 December 2021 steps over Christmas and its substitutes.
    (D(2021, 2, 2), D(2021, 1, 28), D(2021, 12, 22), D(2021, 12, 29)),
    # A milestone on a Saturday counts as the Monday after.
    (D(2021, 2, 20), D(2021, 2, 25), D(2021, 3, 25), D(2021, 3, 22)),
    # The same anchor: a Working Day stays put, any other day goes to the next Working Day.
    (D(2021, 2, 18), D(2021, 2, 25), D(2021, 2, 25), D(2021, 2, 18)),
    (D(2020, 12, 25), D(2021, 2, 25), D(2021, 2, 25), D(2020, 12, 29)),
])
def test_move_by_working_days(day, old, new, moved):
    assert move_by_working_days(day, old, new) == moved


@settings(max_examples=200, deadline=None)
@given(day=st.dates(dt.date(2018, 1, 1), dt.date(2028, 12, 31)),
       old=st.dates(dt.date(2018, 1, 1), dt.date(2028, 12, 31)),
       new=st.dates(dt.date(2018, 1, 1), dt.date(2028, 12, 31)))
def test_moved_days_keep_their_distance_in_working_days(day, old, new):
    moved = move_by_working_days(day, old, new)
    assert is_working_day(moved)
    if is_working_day(day) and is_working_day(old) and is_working_day(new):
        assert working_days_between(new, moved) == working_days_between(old, day)
        assert move_by_working_days(moved, new, old) == day


@pytest.mark.parametrize("day, problem", [
    (D(2000, 1, 1), None), (D(2100, 12, 31), None), (D(2021, 2, 25), None),
    (D(1999, 12, 31), "The date must be between 1 January 2000 and 31 December 2100"),
    (D(2101, 1, 1), "The date must be between 1 January 2000 and 31 December 2100"),
    (D(9999, 12, 31), "The date must be between 1 January 2000 and 31 December 2100"),
])
def test_check_date_in_range(day, problem):
    assert check_date_in_range(day) == problem


def test_check_date_in_range_names_the_date():
    assert check_date_in_range(D(1, 1, 1), "The new go-live date") == \
        "The new go-live date must be between 1 January 2000 and 31 December 2100"


def _clocks_go_forward(day: dt.date) -> bool:
    def offset(d):
        return dt.datetime.combine(d, dt.time(12, tzinfo=UK)).utcoffset()
    return offset(day) > offset(day - dt.timedelta(days=1))


@settings(max_examples=500, deadline=None)
@given(now=st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2035, 12, 31), timezones=st.just(dt.timezone.utc)),
       day=st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)))
def test_a_whole_day_shift_lands_on_the_uk_day(now, day):
    """Around midnight and across summer time; the one hour the short spring day lacks (23:00 UTC) cannot land."""
    shift = shift_to_day(now, day)
    assert shift % dt.timedelta(days=1) == dt.timedelta(0)
    if not (now.hour == 23 and _clocks_go_forward(day)):
        assert (now + shift).astimezone(UK).date() == day


def test_the_portal_today_sets_the_one_clock(app):
    app.config["PORTAL_TODAY"] = "2021-01-20"
    with app.app_context():
        now, real = utcnow(), dt.datetime.now(dt.timezone.utc)
        assert now.astimezone(UK).date() == today() == D(2021, 1, 20)
        assert (real - now) % dt.timedelta(days=1) < dt.timedelta(seconds=5)  # whole days apart
        assert utcnow() >= now
    with app.app_context():
        app.config["PORTAL_TODAY"] = "2021-06-15"
        assert utcnow().astimezone(UK).date() == today() == D(2021, 6, 15)
    with app.app_context():
        app.config["PORTAL_TODAY"] = ""
        assert abs(utcnow() - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)


def test_the_frozen_clock_runs_on_past_midnight(app, monkeypatch):
    """The shift is fixed once: the real clock passing midnight moves today() on a day, never back."""
    real = {"now": dt.datetime(2026, 3, 10, 23, 59, tzinfo=dt.timezone.utc)}

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return real["now"]

    monkeypatch.setattr(timeutil, "dt", SimpleNamespace(**{**vars(dt), "datetime": Clock}))
    app.config["PORTAL_TODAY"] = "2021-01-20"
    with app.app_context():
        before = utcnow()
        assert today() == D(2021, 1, 20)
        real["now"] += dt.timedelta(minutes=2)
        assert today() == D(2021, 1, 21) and utcnow() - before == dt.timedelta(minutes=2)
