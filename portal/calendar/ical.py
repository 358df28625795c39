"""A minimal RFC 5545 writer: all-day milestone events, escaped text, folded lines, CRLF endings."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from ..releases.models import Milestone, Release

PRODID = "-//SEC Release Portal//Milestones//EN"
UID_DOMAIN = "sec-release-portal"


def escape_text(value: str) -> str:
    """TEXT escaping (RFC 5545 3.3.11): backslash, semicolon, comma and newlines."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character (RFC 5545 3.1)."""
    parts, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        limit = 75 if not parts else 74  # continuation lines start with a space
        if size + width > limit:
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def milestone_event(milestone: Milestone, release: Release, stamp: dt.datetime, url: str = "") -> list[str]:
    description = milestone.notes
    description += ("\n\n" if description else "") + f"Acting: {milestone.acting_role.label}. Release stage: " \
                                                      f"{release.stage.label}."
    lines = [
        "BEGIN:VEVENT",
        f"UID:milestone-{milestone.id}@{UID_DOMAIN}",
        f"DTSTAMP:{stamp.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}",
        f"DTSTART;VALUE=DATE:{_date(milestone.due_on)}",
        f"DTEND;VALUE=DATE:{_date(milestone.due_on + dt.timedelta(days=1))}",
        f"SUMMARY:{escape_text(f'{release.name}: {milestone.event}')}",
        f"DESCRIPTION:{escape_text(description)}",
        f"CATEGORIES:{escape_text(str(milestone.kind))}",
        "TRANSP:TRANSPARENT",
    ]
    if url:
        lines.append(f"URL:{url}")
    lines.append("END:VEVENT")
    return lines


def calendar(name: str, events: Iterable[list[str]]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape_text(name)}"]
    for event in events:
        lines.extend(event)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
