"""The published notices as an Atom 1.0 feed (RFC 4287), built as XML elements so every text is escaped, with
absolute links from PORTAL_BASE_URL as the emails have them."""
from __future__ import annotations

import datetime as dt
from typing import Callable
from xml.etree import ElementTree as ET

from ..timeutil import as_utc, utcnow
from ..urls import portal_url
from .models import Notice

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_TITLE = "SEC go-live notices"
AUTHOR = "SECAS (Smart Energy Code Administrator and Secretariat)"


def rfc3339(value: dt.datetime) -> str:
    """A stored time as RFC 3339 in UTC: 2021-02-24T09:30:00Z."""
    return as_utc(value).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, name, attributes)
    element.text = text
    return element


def notices_feed(notices: list[Notice], content: Callable[[Notice], str]) -> bytes:
    """The feed of `notices` (the newest first); `content` gives a notice's body as HTML."""
    # Unprefixed names in Atom's namespace, declared once on the root (ElementTree's default_namespace option
    # refuses unprefixed attributes such as rel and href).
    feed = ET.Element("feed", {"xmlns": ATOM, XML_LANG: "en-GB"})
    _add(feed, "id", portal_url("notices.index"))
    _add(feed, "title", FEED_TITLE)
    _add(feed, "subtitle", "The SEC versions designated as each SEC Release goes live.")
    _add(feed, "updated", rfc3339(max((n.published_at for n in notices), key=as_utc, default=None) or utcnow()))
    _add(feed, "link", rel="self", type="application/atom+xml", href=portal_url("notices.feed"))
    _add(feed, "link", rel="alternate", type="text/html", href=portal_url("notices.index"))
    _add(_add(feed, "author"), "name", AUTHOR)
    for notice in notices:
        page = portal_url("notices.show", code=notice.release.code)
        entry = _add(feed, "entry")
        _add(entry, "id", page)
        _add(entry, "title", notice.title, type="text")
        _add(entry, "link", rel="alternate", type="text/html", href=page)
        _add(entry, "published", rfc3339(notice.published_at))
        _add(entry, "updated", rfc3339(notice.published_at))  # a published notice never changes
        _add(entry, "summary", notice.summary, type="text")
        _add(entry, "content", content(notice), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
