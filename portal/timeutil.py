"""UTC storage, UK display, and Working Days (England and Wales bank holidays excluded)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays
from flask import current_app, has_app_context

UK = ZoneInfo("Europe/London")
# Dates a person may type: wide enough for any release, narrow enough that date sums cannot overflow.
DATE_MIN = dt.date(2000, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)


def shift_to_day(now: dt.datetime, day: dt.date) -> dt.timedelta:
    """The whole days that take the moment `now` to the UK date `day`."""
    days = (day - now.astimezone(UK).date()).days
    # Near midnight, summer time at one end and not the other can leave the moment a day out: a day more or less
    # puts it right (save 23:00-24:00 UTC on the day the clocks go forward, an hour that day does not have).
    days += (day - (now + dt.timedelta(days=days)).astimezone(UK).date()).days
    return dt.timedelta(days=days)


def utcnow() -> dt.datetime:
    """Now, in UTC; with PORTAL_TODAY set, moved by whole days to start on that day in the UK."""
    # One clock: stored times, deadlines and today() must agree when the demo and tests show a release as it stood.
    now = dt.datetime.now(dt.timezone.utc)
    if not has_app_context() or not current_app.config.get("PORTAL_TODAY"):
        return now
    setting = current_app.config["PORTAL_TODAY"]
    # Fixed at the first call for each setting, so the clock runs on past midnight instead of jumping back a day.
    fixed = current_app.extensions.get("portal_today_shift")
    if fixed is None or fixed[0] != setting:
        fixed = (setting, shift_to_day(now, dt.date.fromisoformat(setting)))
        current_app.extensions["portal_today_shift"] = fixed
    return now + fixed[1]


def today() -> dt.date:
    """Today in the UK, by utcnow()."""
    return utcnow().astimezone(UK).date()


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def uk_time(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return as_utc(value).astimezone(UK).strftime("%-d %B %Y, %-I:%M%p").replace("AM", "am").replace("PM", "pm")


def uk_date(value: dt.date | None) -> str:
    return value.strftime("%-d %B %Y") if value else ""


def check_date_in_range(day: dt.date, what: str = "The date") -> str | None:
    """None when `day` lies between DATE_MIN and DATE_MAX, else the sentence to show."""
    if DATE_MIN <= day <= DATE_MAX:
        return None
    return f"{what} must be between {uk_date(DATE_MIN)} and {uk_date(DATE_MAX)}"


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> Mapping[dt.date, str]:
    """England and Wales bank holidays of `year`, with their names."""
    return MappingProxyType(dict(holidays.country_holidays("GB", subdiv="ENG", years=year)))


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def why_not_working_day(day: dt.date) -> str | None:
    """None for a Working Day, else a sentence naming the day and why it is not one."""
    if day.weekday() >= 5:
        reason = "a weekend"
    elif day in _bank_holidays(day.year):
        # The package calls a substitute day "Christmas Day (observed)".
        names = [f"substitute day for {name.removesuffix(' (observed)')}" if name.endswith(" (observed)") else name
                 for name in _bank_holidays(day.year)[day].split("; ")]
        reason = f"a bank holiday ({'; '.join(names)})"
    else:
        return None
    return f"{day:%A} {uk_date(day)} is not a Working Day: it is {reason}."


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working Days from `start` to `end` (positive when end is later), not counting `start`.

    Counted by whole weeks, then the bank holidays that fall on weekdays in between (the release list phrases
    deadlines years ahead, so this must not walk day by day)."""
    sign = 1 if end >= start else -1
    lo, hi = sorted((start, end))
    weeks, rest = divmod((hi - lo).days, 7)
    weekdays = weeks * 5 + sum(1 for n in range(1, rest + 1) if (lo.weekday() + n) % 7 < 5)
    holidays_off = sum(1 for year in range(lo.year, hi.year + 1) for day in _bank_holidays(year)
                       if lo < day <= hi and day.weekday() < 5)
    return sign * (weekdays - holidays_off)


def add_working_days(start: dt.date, days: int) -> dt.date:
    step = 1 if days >= 0 else -1
    day, left = start, abs(days)
    while left:
        day += dt.timedelta(days=step)
        if is_working_day(day):
            left -= 1
    return day


def working_day_on_or_after(day: dt.date) -> dt.date:
    return day if is_working_day(day) else add_working_days(day, 1)


def move_by_working_days(day: dt.date, old_anchor: dt.date, new_anchor: dt.date) -> dt.date:
    """`day` as many Working Days from `new_anchor` as it was from `old_anchor`, always on a Working Day."""
    # A day or an anchor that is not a Working Day counts as the next Working Day.
    distance = working_days_between(working_day_on_or_after(old_anchor), working_day_on_or_after(day))
    return add_working_days(working_day_on_or_after(new_anchor), distance)


def due_phrase(due: dt.date, on: dt.date | None = None) -> str:
    """'due today', 'due in 3 Working Days', '2 Working Days overdue'."""
    on = on or today()
    n = working_days_between(on, due)
    if due == on:
        return "due today"
    if due > on:
        return "due in 1 Working Day" if n == 1 else f"due in {n} Working Days"
    n = -n
    if n == 0:
        return "due (non-working day passed)"
    return "1 Working Day overdue" if n == 1 else f"{n} Working Days overdue"

