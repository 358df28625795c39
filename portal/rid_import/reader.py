"""Read a RID document's lines into the RID's data, by its sections and tables (never by line numbers).

The result is the shape of rid_snapshot() with names in place of database ids (`comparable()` turns a stored
snapshot into the same shape, so a published RID read back compares equal to its source). Every line of the document
is either read into the data, recognised as the RID's own furniture (headings, fixed wording, page headers and
footers, repeated table headers), or reported in a warning with the reason."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ..access import Role
from ..releases import rid_text
from ..releases.models import MilestoneKind, ScopeStatus
from ..releases.rid_view import DERIVED_NOTES, NO_APPROVED, NO_CHANGE_REQUESTS, NO_OTHER_CODES
from .extract import Line, NotARid, Source, read_source

TICK = "✓"
NOTE_KEYS = ("about", "approved_mps_note", "targeted_mps_note", "change_requests_note", "document_impacts_note",
             "other_codes_note", "test_strategy_note", "user_testing_note", "dcc_costs_note", "secas_costs_note")
DEFAULT_GROUPS = ("Suppliers", "Electricity Networks", "Gas Networks", "Other SEC Parties", "DCC")

# The top-level headings, by the words after their number ("1. Scope", "Appendix 2: Glossary").
SECTIONS = {"about": "About this document", "scope": "Scope", "impacts": "Impacts",
            "timeline": "Implementation timeline", "test": "Test strategy", "costs": "Costs",
            "criteria": "Acceptance criteria", "versions": "Version control", "glossary": "Glossary"}
SUBSECTIONS = {
    "scope": {"approved modification proposals": "approved", "targeted modification proposals": "targeted",
              "dcc change requests": "crs"},
    "impacts": {"sec party and dcc impacts": "participant_matrix", "participant impact matrix": "participant_matrix",
                "sec party impacts": "party", "dcc impacts": "dcc", "sec document impacts": "documents",
                "sec document impact matrix": "document_matrix", "other code impacts": "other"},
    "timeline": {"release implementation timetable": "timetable"},
    "test": {"test phases": "phases"},
    "criteria": {"operational acceptance criteria": "list"},
    "versions": {"document history": "history"},
    "glossary": {"glossary": "terms"},
}
HEADER_ROWS = {"timeline": ("Date Event Notes", "timetable"), "versions": ("Version Date Changes", "history"),
               "glossary": ("Acronym Full term", "terms"), "test": ("Phase Required Reason", "phases")}
KIND_ROLES = {MilestoneKind.BASELINE: Role.PANEL, MilestoneKind.EVIDENCE: Role.DCC,
              MilestoneKind.OPSG_REVIEW: Role.OPSG, MilestoneKind.PANEL_DECISION: Role.PANEL,
              MilestoneKind.GO_LIVE: Role.SECAS, MilestoneKind.OTHER: Role.SECAS}
TABLE_HEADERS = {
    "participant_matrix": "Modification", "party": "Participant", "dcc": "Area impacted",
    "document_matrix": "Document", "timetable": "Date", "phases": "Phase", "costs": "Cost", "history": "Version",
    "terms": "Acronym",
}

ARTEFACTS = [re.compile(p, re.I) for p in (
    r"^page \d+ of \d+$", r"^release implementation document:.*\b(version \d+\.\d+|working draft\b.*|draft), .*\d{4}$")]
DATE = r"\d{1,2} [A-Z][a-z]{2} (?:\d{4}|\d{2})"
MP_REF = re.compile(r"^(MP\d+[A-Z]?)\b")
QUOTED = re.compile(r"^(\S+(?: [A-Z0-9]+)?) ‘(.+?)’\s*(.*)$")
AMOUNT = re.compile(r"(estimated to be |around )?£([\d,]+(?:\.\d\d)?)")
CUTOFF_END = re.compile(rf"\(decision cut-off date {DATE}\)$")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


@dataclass
class Item:
    what: str
    lines: list[int]


@dataclass
class Section:
    key: str
    title: str
    items: list[Item] = field(default_factory=list)


@dataclass
class Warning:
    line: int
    text: str
    why: str


@dataclass
class Reading:
    """What was read from one document: the RID data, its version history, per section what was read from which
    lines, and a warning for every line that could not be placed."""
    kind: str
    rid: dict[str, Any]
    versions: list[dict[str, Any]]
    sections: list[Section]
    warnings: list[Warning]
    lines: dict[int, str]
    version_label: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"rid": self.rid, "rid_versions": self.versions, "version": self.version_label,
                "warnings": [{"line": w.line, "text": w.text, "why": w.why} for w in self.warnings]}


def parse_date(text: str) -> dt.date:
    value = dt.datetime.strptime(text.strip(), "%d %b %Y" if len(text.strip().split()[-1]) == 4 else "%d %b %y")
    return value.date()


def pence(amount: str) -> int:
    pounds, _, p = amount.replace(",", "").partition(".")
    return int(pounds) * 100 + int((p or "0").ljust(2, "0"))


def _squash(text: str) -> str:
    return " ".join(text.split())


def _strip_phrases(text: str, phrases) -> str:
    text = _squash(text)
    for phrase in phrases:
        text = text.replace(_squash(phrase), " ")
    return _squash(text)


def _chunks(raw: str) -> list[tuple[int, str]]:
    """The runs of text in a layout line, where two spaces or more part them, with the column each starts at."""
    return [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", raw)]


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class _Reader:
    def __init__(self, source: Source, groups: tuple[str, ...]):
        self.source = source
        self.groups = groups
        self.used: set[int] = set()
        self.warnings: list[Warning] = []
        self.sections: dict[str, Section] = {k: Section(k, v) for k, v in SECTIONS.items()}
        self.by_no = {line.no: line for line in source.lines}

    # --- bookkeeping ---
    def item(self, section: str, what: str, lines: list[Line] | list[int]) -> None:
        numbers = [x if isinstance(x, int) else x.no for x in lines]
        self.used.update(numbers)
        self.sections[section].items.append(Item(what, numbers))

    def known(self, lines) -> None:
        self.used.update(x if isinstance(x, int) else x.no for x in lines)

    def warn_rest(self, lines: list[Line], why: str) -> None:
        for line in lines:
            if line.text:
                self.warn(line, why)

    def dated(self, text: str, used: list[Line], why: str) -> dt.date | None:
        """The date in a table's cell, or None with a warning on the row's lines."""
        try:
            return parse_date(text)
        except ValueError:
            for line in used:
                self.warn(line, why)
            return None

    def warn(self, line: Line | int, why: str) -> None:
        line = self.by_no[line] if isinstance(line, int) else line
        self.used.add(line.no)
        self.warnings.append(Warning(line.no, line.text, why))

    # --- splitting the document ---
    def heading(self, text: str) -> str | None:
        lowered = text.lower().rstrip(" .:")
        if lowered == "about this document":
            return "about"
        match = re.match(r"^(?:\d+\.|appendix \d+:)\s*(.+)$", lowered)
        if match:
            for key, title in SECTIONS.items():
                if match.group(1) == title.lower():
                    return key
        return None

    def split(self) -> tuple[dict[tuple[str, str], list[Line]], list[Line]]:
        buckets: dict[tuple[str, str], list[Line]] = {}
        prelude: list[Line] = []
        section = sub = None
        for line in self.source.lines:
            text = line.text
            if not text:
                if section:
                    buckets.setdefault((section, sub), []).append(line)
                continue
            if any(p.match(text) for p in ARTEFACTS):
                self.known([line])
                continue
            if line.cells is None:
                key = self.heading(text)
                if key:
                    section, sub = key, ""
                    self.known([line])
                    continue
                if section:
                    lowered = text.lower().rstrip(" .:")
                    named = SUBSECTIONS.get(section, {}).get(lowered)
                    if section == "costs" and re.fullmatch(r"[A-Z][A-Za-z]* costs", text):
                        named = "costs:" + text.split()[0]
                    if named:
                        sub = named
                        self.known([line])
                        continue
            header = HEADER_ROWS.get(section or "")
            if header and sub == "" and " ".join(line.cells or [text]).startswith(header[0]):
                sub = header[1]  # a table without its caption, known by its header row
            if section is None:
                prelude.append(line)
            else:
                buckets.setdefault((section, sub), []).append(line)
        return buckets, prelude

    # --- paragraphs, bullets and tables ---
    def blocks(self, lines: list[Line]) -> list[tuple[str, list[Line]]]:
        """Bullets ("•") and paragraphs, each with its lines. A PDF's or DOCX's blank lines end a block; in plain
        text (broken anywhere) a bullet ends where a line ending a sentence is followed by a capital."""
        blocks: list[tuple[str, list[Line]]] = []
        kind, current = "", []

        def close():
            nonlocal current
            if current:
                blocks.append((kind, current))
            current = []
        for line in lines:
            text = line.text
            if not text:
                if self.source.kind != "text":
                    close()
                continue
            if text.startswith("•"):
                close()
                kind = "bullet"
            elif self.source.kind == "text" and kind == "bullet" and current and \
                    (current[-1].text.endswith((".", "’", ":")) or CUTOFF_END.search(current[-1].text)) and \
                    text[0].isupper():
                close()
                kind = "para"
            elif not current:
                kind = "para"
            current.append(line)
        close()
        return blocks

    @staticmethod
    def joined(lines: list[Line]) -> str:
        return _squash(" ".join(line.text for line in lines)).lstrip("• ").strip()

    def prose(self, lines: list[Line], drop=(), section: str = "") -> tuple[str, list[Line]]:
        """The text of these lines less the RID's fixed phrases; fixed wording alone is furniture."""
        text = _strip_phrases(" ".join(line.text for line in lines if line.text), drop)
        nonblank = [line for line in lines if line.text]
        if not text:
            self.known(nonblank)
            return text, nonblank
        wording = [line for line in nonblank if any(line.text in _squash(p) for p in drop)]
        self.known(wording)
        return text, [line for line in nonblank if line not in wording]

    def layout_table(self, lines: list[Line], first: str):
        """A PDF table: columns start where the header's words start; a row is a run of lines between blank
        lines; the header repeated after a page break is furniture. Returns the header, the rows and the lines
        after the table."""
        header_at = next((i for i, l in enumerate(lines) if l.text.startswith(first)), None)
        if header_at is None:
            return [], [], lines
        header = lines[header_at]
        starts = [at for at, _ in _chunks(header.raw)]
        names = [text for _, text in _chunks(header.raw)]
        self.known(lines[:header_at + 1])
        groups: list[list[Line]] = []
        current: list[Line] = []
        rest_at = len(lines)
        for i in range(header_at + 1, len(lines)):
            line = lines[i]
            if not line.text:
                if current:
                    groups.append(current)
                current = []
                continue
            if not current and len(line.raw) - len(line.raw.lstrip()) < starts[0]:
                rest_at = i
                break
            current.append(line)
        if current:
            groups.append(current)
        rows = []
        for group in groups:
            cells: list[list[str]] = [[] for _ in starts]
            for line in group:
                for at, text in _chunks(line.raw):
                    cells[max([i for i, s in enumerate(starts) if at >= s - 2] or [0])].append(text)
            flat = [" ".join(c) for c in cells]
            if group[0].text == header.text:
                self.known(group)  # the header again, on the next page
            elif not flat[0] and group[0].no == header.no + 1:
                self.known(group)  # the header's words wrapped onto a second line
                names = [" ".join(filter(None, (n, extra))) for n, extra in zip(names, flat)]
            else:
                rows.append((flat, group))
        return names, rows, lines[rest_at:]

    def cell_table(self, lines: list[Line], first: str):
        """A DOCX table: a line of cells per row, the first row its header."""
        rows, header, end = [], [], 0
        for i, line in enumerate(lines):
            if line.cells is None:
                if line.text and header:
                    break
                end = i + 1
                continue
            if not header or line.cells[0] == first:
                header = list(line.cells)
                self.known([line])
            else:
                rows.append((line.cells, [line]))
            end = i + 1
        return header, rows, lines[end:]

    def table(self, lines: list[Line], first: str):
        """(header, rows of cells with their lines, the lines after the table) of a PDF's or DOCX's table."""
        return self.cell_table(lines, first) if self.source.kind == "docx" else self.layout_table(lines, first)

    # --- plain-text tables (the RID as extracted text: cells run together, rows broken anywhere) ---
    def text_rows(self, lines: list[Line], first: str, starts_row, header_again=None):
        """Rows that begin with a line `starts_row` accepts; other lines continue the row (or follow the table)."""
        nonblank = [l for l in lines if l.text]
        rows: list[list[Line]] = []
        rest: list[Line] = []
        at_header = True
        for line in nonblank:
            if at_header and line.text.startswith(first):
                self.known([line])
                continue
            if header_again and header_again(line):
                self.known([line])
                continue
            if starts_row(line):
                at_header = False
                rows.append([line])
            elif rows and not rest:
                rows[-1].append(line)
            elif not rows and at_header:
                self.known([line])  # the header's wrapped words
            else:
                rest.append(line)
        return rows, rest

    # --- the sections ---
    def read(self) -> Reading:
        buckets, prelude = self.split()
        get = lambda section, sub="": buckets.get((section, sub), [])
        notes = {k: "" for k in NOTE_KEYS}
        name, version_label = self.read_prelude(prelude)

        about, lines = self.prose(get("about"))
        if about:
            notes["about"] = about
            self.item("about", "About this document", lines)

        scope: list[dict] = []
        for key, status in (("approved", ScopeStatus.APPROVED), ("targeted", ScopeStatus.TARGETED)):
            entries, note = self.read_scope(get("scope", key), status)
            scope += entries
            notes[f"{key}_mps_note"] = note
        crs, notes["change_requests_note"] = self.read_change_requests(get("scope", "crs"))
        self.warn_rest(get("scope"), "Text in the Scope section before its first heading.")

        groups, participant_impacts, after = self.read_matrix(get("impacts", "participant_matrix"), "participant")
        urls = self.read_urls(after, scope)
        rest, lines = self.prose(after, [rid_text.WORDING["summaries"], rid_text.WORDING["impacts"]])
        self.place_prose(rest, lines, "impacts")
        self.prose(get("impacts"), [rid_text.WORDING["impacts"]])
        summaries = self.read_summaries(get("impacts", "party"), "party") + \
            self.read_summaries(get("impacts", "dcc"), "dcc")
        titles = self.read_documents_list(get("impacts", "documents"))
        documents, document_impacts, after = self.read_matrix(get("impacts", "document_matrix"), "document")
        note, lines = self.prose(after, [rid_text.WORDING["documents_outro"]])
        if note:
            notes["document_impacts_note"] = note
            self.item("impacts", f"Note on document impacts: {note}", lines)
        others, notes["other_codes_note"] = self.read_other_codes(get("impacts", "other"))
        for entry in scope:
            entry["url"] = urls.get(entry["mp"], "")

        milestones = self.read_timeline(get("timeline", "timetable"))
        self.prose(get("timeline"), [rid_text.WORDING["timeline"]])
        phases = self.read_phases(get("test", "phases"), get("test"), notes)
        costs = self.read_costs(buckets, notes)
        self.prose(get("costs"), [rid_text.WORDING["costs"]])
        criteria = self.read_criteria(get("criteria", "list"))
        self.prose(get("criteria"), rid_text.WORDING["criteria"])
        versions = self.read_versions(get("versions", "history"))
        glossary = self.read_glossary(get("glossary", "terms"))
        self.prose(get("glossary"), [rid_text.WORDING["glossary"]])

        go_live = next((m["due_on"] for m in milestones if m["kind"] == MilestoneKind.GO_LIVE.value), None)
        if not name and go_live:
            name = f"{dt.date.fromisoformat(go_live):%B %Y} SEC Release"
        code = f"{dt.date.fromisoformat(go_live):%b-%Y}".lower() if go_live else ""
        rid = {
            "release": {"code": code, "name": name, "planned_go_live": go_live, "notes": notes},
            "scope": scope, "change_requests": crs,
            "participant_groups": [{"name": g} for g in groups],
            "sec_documents": [{"name": d, "title": titles.get(d, "")} for d in documents],
            "participant_impacts": sorted(participant_impacts), "impact_summaries": summaries,
            "document_impacts": sorted(document_impacts), "other_code_impacts": others,
            "milestones": milestones, "test_phases": phases, "cost_items": costs, "criteria": criteria,
            "glossary": glossary,
        }
        for line in self.source.lines:
            if line.text and line.no not in self.used:
                self.warn(line, "This line was not recognised as part of any RID section.")
        self.warnings.sort(key=lambda w: w.line)
        return Reading(self.source.kind, rid, versions, list(self.sections.values()), self.warnings,
                       {l.no: l.text for l in self.source.lines}, version_label)

    def place_prose(self, text: str, lines: list[Line], section: str) -> None:
        for line in lines:
            if text and line.no not in self.used:
                self.warn(line, f"Text in the {SECTIONS[section]} section that is none of its parts.")

    def read_prelude(self, lines: list[Line]) -> tuple[str, str]:
        text = _squash(" ".join(l.text for l in lines))
        match = re.match(r"^Release Implementation Document:\s*(.+?)\s+((?:Version \d+\.\d+|Working draft.*?|Draft),"
                         rf"\s*{DATE})$", text)
        if match:
            self.known(lines)
            return match.group(1), match.group(2)
        for line in lines:
            if line.text:
                self.warn(line, "Text before the RID's first section (About this document).")
        return "", ""

    def read_scope(self, lines: list[Line], status: ScopeStatus) -> tuple[list[dict], str]:
        entries, prose = [], []
        for kind, block in self.blocks(lines):
            text = self.joined(block)
            match = QUOTED.match(text) if kind == "bullet" else None
            if match and MP_REF.match(match.group(1)):
                rest = match.group(3)
                cutoff = re.search(rf"\s*\(decision cut-off date ({DATE})\)$", rest)
                entry = {"mp": match.group(1), "title": match.group(2), "url": "", "status": status.value,
                         "cutoff_date": parse_date(cutoff.group(1)).isoformat() if cutoff else None,
                         "summary": rest[:cutoff.start()].strip() if cutoff else rest.strip(),
                         "moved_to": None, "moved_to_name": None}
                entries.append(entry)
                self.item("scope", f"{entry['mp']} ‘{entry['title']}’ ({status.value})", block)
            elif kind == "bullet":
                for line in block:
                    self.warn(line, "A bullet in the scope that does not start with an MP reference and its title.")
            else:
                prose += block
        note, used = self.prose(prose, [NO_APPROVED, rid_text.WORDING["targeted"]])
        if note:
            self.item("scope", f"Note on {status.value} modifications: {note}", used)
        return entries, note

    def read_change_requests(self, lines: list[Line]) -> tuple[list[dict], str]:
        crs, prose = [], []
        for kind, block in self.blocks(lines):
            match = QUOTED.match(self.joined(block)) if kind == "bullet" else None
            if match:
                crs.append({"reference": match.group(1), "title": match.group(2)})
                self.item("scope", f"Change Request {match.group(1)} ‘{match.group(2)}’", block)
            else:
                prose += block
        note, used = self.prose(prose, [NO_CHANGE_REQUESTS])
        if note:
            self.item("scope", f"Note on Change Requests: {note}", used)
        return crs, note

    def read_urls(self, lines: list[Line], scope: list[dict]) -> dict[str, str]:
        """The links the extracted text lists at a page's foot: each modification's page, by its title."""
        urls = {}
        by_slug = {_slug(e["title"]): e["mp"] for e in scope}
        for line in lines:
            if line.text.startswith(("http://", "https://")):
                slug = line.text.rstrip("/").rsplit("/", 1)[-1]
                if slug in by_slug:
                    urls[by_slug[slug]] = line.text
                    self.item("scope", f"{by_slug[slug]}’s page: {line.text}", [line])
                else:
                    self.known([line])  # a link elsewhere in the document: nothing the RID holds
        lines[:] = [l for l in lines if not l.text.startswith(("http://", "https://"))]
        return urls

    def match_groups(self, words: str) -> list[str]:
        """Split a run-together header ("Suppliers Electricity Networks Gas ...") into the known column names."""
        names, rest = [], words.split()
        known = sorted(self.groups, key=lambda g: -len(g.split()))
        while rest:
            for name in known:
                n = len(name.split())
                if " ".join(rest[:n]).lower() == name.lower():
                    names.append(name)
                    rest = rest[n:]
                    break
            else:
                names.append(rest.pop(0))
        return names

    def read_matrix(self, lines: list[Line], kind: str) -> tuple[list[str], list[list[str]], list[Line]]:
        """A tick matrix: its columns, its ticks as [MP, group] / [MP, document] pairs, and the lines after it."""
        first = "Modification" if kind == "participant" else "Document"
        if self.source.kind == "text":
            columns, rows, rest = self.text_matrix(lines, first, kind)
        else:
            header, found, rest = self.table(lines, first)
            columns = header[1:]
            rows = [([cells[0]] + [c.strip() == TICK for c in cells[1:]], used) for cells, used in found]
        names, pairs = [], []
        for cells, used in rows:
            names.append(cells[0])
            ticks = [columns[i] for i, on in enumerate(cells[1:]) if on and i < len(columns)]
            for tick in ticks:
                pairs.append([cells[0], tick] if kind == "participant" else [tick, cells[0]])
            self.item("impacts", f"{cells[0]}: {', '.join(ticks) or 'no impact'}", used)
        if kind == "participant":
            return columns, pairs, rest
        return names, pairs, rest

    def text_matrix(self, lines: list[Line], first: str, kind: str):
        if kind == "participant":
            is_row = lambda l: bool(MP_REF.match(l.text)) and set(l.text[len(MP_REF.match(l.text).group()):]) <= {" ", TICK}
        else:
            is_row = lambda l: bool(re.match(r"^(Section|Appendix|Schedule) [A-Z0-9]+(?= |$)", l.text)) and \
                set(re.sub(r"^(Section|Appendix|Schedule) [A-Z0-9]+", "", l.text)) <= {" ", TICK}
        columns: list[str] = []
        rows, rest, in_table = [], [], True
        nonblank = [l for l in lines if l.text]
        i = 0
        while i < len(nonblank):
            line = nonblank[i]
            if self.is_matrix_header(line.text, first, kind):
                head = [line]
                i += 1
                while i < len(nonblank) and not is_row(nonblank[i]) and not nonblank[i].text.startswith("http"):
                    head.append(nonblank[i])
                    i += 1
                self.known(head)
                words = self.joined(head)[len(first):]
                found = self.match_groups(words) if kind == "participant" else words.split()
                columns = columns or found
                in_table = True
                continue
            if in_table and is_row(line):
                name = MP_REF.match(line.text).group() if kind == "participant" else \
                    re.match(r"^(Section|Appendix|Schedule) [A-Z0-9]+", line.text).group()
                tail = line.raw.lstrip()[len(name):]
                tail = tail[1:] if tail.startswith(" ") else tail
                tail = tail[:-1] if tail.endswith(" ") else tail
                marks = tail.split(" ") if tail else []
                if len(marks) != len(columns):
                    marks = (marks + [""] * len(columns))[:len(columns)]
                rows.append(([name] + [m == TICK for m in marks], [line]))
            else:
                in_table = False
                rest.append(line)
            i += 1
        return columns, rows, rest

    def is_matrix_header(self, text: str, first: str, kind: str) -> bool:
        """The matrix's header (again after a page break), not a sentence that happens to begin with its word."""
        words = text.split()
        if not words or words[0] != first:
            return False
        if kind == "document":
            return all(MP_REF.match(w) for w in words[1:])
        rest = " ".join(words[1:]).lower()
        return not rest or any(rest.startswith(g.lower().split()[0]) for g in self.groups)

    def read_summaries(self, lines: list[Line], kind: str) -> list[dict]:
        first = "Participant" if kind == "party" else "Area impacted"
        if self.source.kind == "text":
            rows = self.text_summaries(lines, first)
        else:
            _, found, rest = self.table(lines, first)
            rows = [(cells[0], cells[1], used) for cells, used in found if len(cells) >= 2]
            self.warn_rest(rest, f"Text after the {first.lower()} impacts table.")
        out = []
        for subject, text, used in rows:
            if text == "None recorded.":
                self.known(used)
                continue
            for bullet in filter(None, (_squash(b) for b in text.split("•"))):
                out.append({"kind": kind, "subject": _squash(subject), "text": bullet})
                self.item("impacts", f"{_squash(subject)}: {bullet}", used)
        return out

    def text_summaries(self, lines: list[Line], first: str):
        """Plain text runs a subject and its bullets together: a subject starts where a bullet has ended (with a
        full stop) and a line does not begin another bullet."""
        rows: list[tuple[str, str, list[Line]]] = []
        subject: list[str] = []
        bullets: list[str] = []
        used: list[Line] = []

        def flush():
            nonlocal subject, bullets, used
            if bullets:
                rows.append((_squash(" ".join(subject)), " ".join(bullets), used))
            subject, bullets, used = [], [], []
        for line in (l for l in lines if l.text):
            text = line.text
            if text in (f"{first} Summary of impacts", "Summary of impacts"):
                self.known([line])
                continue
            before, dot, after = text.partition("•")
            if dot and before.strip():
                flush()
                subject, bullets = [before.strip()], ["• " + after.strip()]
            elif dot:
                bullets.append("• " + after.strip())
            elif bullets and bullets[-1].endswith("."):
                flush()
                subject = [text]
            elif bullets:
                bullets[-1] += " " + text
            else:
                subject.append(text)
            used.append(line)
        flush()
        return rows

    def read_documents_list(self, lines: list[Line]) -> dict[str, str]:
        titles, prose = {}, []
        for kind, block in self.blocks(lines):
            match = QUOTED.match(self.joined(block)) if kind == "bullet" else None
            if match:
                titles[match.group(1)] = match.group(2)
                self.item("impacts", f"Document updated: {match.group(1)} ‘{match.group(2)}’", block)
            else:
                prose += block
        rest, used = self.prose(prose, [rid_text.WORDING["documents"], rid_text.WORDING["documents_matrix"]])
        for line in used:
            if rest:
                self.warn(line, "Text in SEC document impacts that is neither a document nor the RID's wording.")
        return titles

    def read_other_codes(self, lines: list[Line]) -> tuple[list[dict], str]:
        others, prose = [], []
        for kind, block in self.blocks(lines):
            text = self.joined(block)
            if kind == "bullet" and ":" in text:
                code, _, description = text.partition(":")
                others.append({"code": code.strip(), "description": description.strip()})
                self.item("impacts", f"Other Code impacted: {code.strip()}", block)
            else:
                prose += block
        note, used = self.prose(prose, [NO_OTHER_CODES])
        if note:
            self.item("impacts", f"Note on other Codes: {note}", used)
        return others, note

    def read_timeline(self, lines: list[Line]) -> list[dict]:
        if self.source.kind == "text":
            rows, rest = self.text_rows(lines, "Date Event Notes", lambda l: bool(re.match(DATE + r"\b", l.text)))
            cells = []
            for row in rows:
                text = self.joined(row)
                date = re.match(DATE, text).group()
                event, notes = _event_and_notes(text[len(date):].strip())
                cells.append(([date, event, notes], row))
        else:
            _, cells, rest = self.table(lines, "Date")
        self.warn_rest(rest, "Text after the implementation timetable.")
        milestones = []
        for row, used in cells:
            due_on = self.dated(row[0], used, "A timetable row whose date could not be read.")
            if due_on is None:
                continue
            kind = _milestone_kind(row[1])
            milestones.append({"kind": kind.value, "due_on": due_on.isoformat(), "event": _squash(row[1]),
                               "notes": _squash(row[2]) if len(row) > 2 else "",
                               "acting_role": KIND_ROLES[kind].value})
            self.item("timeline", f"{due_on:%d %b %Y}: {_squash(row[1])}", used)
        return milestones

    def read_phases(self, table_lines: list[Line], prose_lines: list[Line], notes: dict) -> list[dict]:
        phases = []
        if table_lines:
            if self.source.kind == "text":
                pattern = re.compile(r"^(.+) \(([A-Z]{2,5})\) (Required|Not required)\s*(.*)$")
                rows, rest = self.text_rows(table_lines, "Phase Required Reason", lambda l: bool(pattern.match(l.text)))
                cells = []
                for row in rows:
                    m = pattern.match(self.joined(row))
                    cells.append(([f"{m.group(1)} ({m.group(2)})", m.group(3), m.group(4)], row))
            else:
                _, cells, rest = self.table(table_lines, "Phase")
            for row, used in cells:
                m = re.match(r"^(.+) \(([A-Z]{2,5})\)$", row[0])
                if not m:
                    for line in used:
                        self.warn(line, "A test phase row without its name and abbreviation, like System "
                                        "Integration Testing (SIT).")
                    continue
                phase = {"phase": m.group(2), "name": m.group(1), "applies": row[1].strip() == "Required",
                         "reason": _squash(row[2]) if len(row) > 2 else ""}
                phases.append(phase)
                self.item("test", f"{phase['phase']}: {'applies' if phase['applies'] else 'does not apply'}", used)
            self.warn_rest(rest, "Text after the test phases table.")
        text, used = self.prose(prose_lines)
        if text:
            pieces = [self.joined(b) for _, b in self.blocks(prose_lines)] if self.source.kind != "text" \
                else SENTENCE.split(text)
            user = [p for p in pieces if "user testing" in p.lower()]
            notes["user_testing_note"] = " ".join(user)
            notes["test_strategy_note"] = " ".join(p for p in pieces if p not in user)
            self.item("test", "Test strategy", used)
            if not table_lines:  # the RID names the phases in its prose: "will not require any PIT, SIT or UIT"
                none = re.search(r"not require any|no .*testing is required", notes["test_strategy_note"], re.I)
                for m in re.finditer(r"((?:[A-Z][A-Za-z-]+ )+Testing) \(([A-Z]{2,5})\)", notes["test_strategy_note"]):
                    if m.group(2) in {"PIT", "SIT", "UIT"} and m.group(2) not in {p["phase"] for p in phases}:
                        phases.append({"phase": m.group(2), "name": m.group(1), "applies": not none, "reason": ""})
                        self.sections["test"].items.append(
                            Item(f"{m.group(2)}: {'does not apply' if none else 'applies'}", [l.no for l in used]))
        return phases

    def read_costs(self, buckets, notes: dict) -> list[dict]:
        items = []
        for (section, sub), lines in buckets.items():
            if section != "costs" or not sub.startswith("costs:"):
                continue
            party = sub.split(":", 1)[1]
            key = "dcc_costs_note" if party == "DCC" else "secas_costs_note"
            if self.source.kind != "text" and any(l.text.startswith("Cost ") for l in lines):
                _, cells, rest = self.table(lines, "Cost")
                for row, used in cells:
                    amount = AMOUNT.search(row[1])
                    if not amount:
                        for line in used:
                            self.warn(line, "A cost without an amount in pounds.")
                        continue
                    item = {"party": party, "description": _squash(row[0]), "amount_pence": pence(amount.group(2)),
                            "already_budgeted": row[2].strip() == "Yes", "qualifier": _qualifier(amount.group(1))}
                    items.append(item)
                    self.item("costs", f"{party}: {item['description']} ({_squash(row[1])})", used)
                note, used = self.prose(rest)
            else:  # costs told in sentences, as the February 2021 RID does
                text, used = self.prose(lines)
                sentences = SENTENCE.split(text)
                budgeted = any("already been accounted for" in s or "already budgeted" in s for s in sentences)
                priced = [s for s in sentences if AMOUNT.search(s)]
                for s in priced:
                    amount = AMOUNT.search(s)
                    items.append({"party": party, "description": s, "amount_pence": pence(amount.group(2)),
                                  "already_budgeted": budgeted, "qualifier": _qualifier(amount.group(1))})
                    self.item("costs", f"{party}: {s}", used)
                note = " ".join(s for s in sentences if s not in priced)
            notes[key] = note
            if note:
                self.item("costs", f"Note on {party} costs: {note}", used)
        return items

    def read_criteria(self, lines: list[Line]) -> list[dict]:
        start = re.compile(r"^(\d+)\.\s+(.*)$")
        # A Word list numbers its items itself: its criteria come as list items without their numbers.
        rows, rest = self.text_rows(lines, "\x00", lambda l: bool(start.match(l.text)) or l.text.startswith("•"))
        for line in rest:
            self.warn(line, "Text among the acceptance criteria that is not a numbered criterion.")
        criteria = []
        for row in rows:
            m = start.match(self.joined(row))
            number = int(m.group(1)) if m else (criteria[-1]["number"] + 1 if criteria else 1)
            text = m.group(2) if m else self.joined(row)
            withdrawn = text.endswith(" (withdrawn)")
            text = text.removesuffix(" (withdrawn)")
            owner = _owner(text)
            criterion = {"number": number, "text": text, "owner_role": (owner or Role.DCC).value,
                         **({"withdrawn": True} if withdrawn else {})}
            criteria.append(criterion)
            self.item("criteria", f"{criterion['number']}. owned by {Role(criterion['owner_role']).label}", row)
            if owner is None:
                self.warn(row[0], "The criterion does not say who owns it (it begins neither with the DCC nor "
                                  "SECAS); it is given to the DCC.")
        return criteria

    def read_versions(self, lines: list[Line]) -> list[dict]:
        if self.source.kind == "text":
            pattern = re.compile(rf"^(\d+\.\d+) ({DATE}) (.*)$")
            rows, rest = self.text_rows(lines, "Version Date Changes", lambda l: bool(pattern.match(l.text)))
            cells = [(list(pattern.match(self.joined(r)).groups()), r) for r in rows]
        else:
            _, cells, rest = self.table(lines, "Version")
        self.warn_rest(rest, "Text after the document history table.")
        versions = []
        for row, used in cells:
            issued = self.dated(row[1], used, "A version whose date could not be read.")
            if issued is None:
                continue
            change = _squash(row[2])
            meeting = re.search(rf"\s*Panel meeting of ({DATE}), minute (.+)\.$", change)
            versions.append({"number": row[0].strip(), "issued_on": issued.isoformat(),
                             "change_note": change[:meeting.start()] if meeting else change,
                             "panel_meeting_on": parse_date(meeting.group(1)).isoformat() if meeting else None,
                             "panel_minute_ref": meeting.group(2) if meeting else None})
            self.item("versions", f"Version {row[0].strip()}, {issued:%d %b %Y}", used)
        return versions

    def read_glossary(self, lines: list[Line]) -> list[dict]:
        if self.source.kind == "text":
            rows, rest = self.text_rows(lines, "Acronym Full term", lambda l: bool(re.match(r"^\S+ \S", l.text)),
                                        header_again=lambda l: l.text in ("Glossary", "Acronym Full term"))
            cells = [(self.joined(r).split(" ", 1), r) for r in rows]
        else:
            _, cells, rest = self.table(lines, "Acronym")
        for line in rest:
            if line.text and line.text != "Glossary":
                self.warn(line, "Text after the glossary.")
            elif line.text:
                self.known([line])
        terms = []
        for row, used in cells:
            terms.append({"acronym": row[0].strip(), "term": _squash(row[1])})
            self.item("glossary", f"{row[0].strip()}: {_squash(row[1])}", used)
        return terms


def _event_and_notes(text: str) -> tuple[str, str]:
    """Plain text runs a timetable row's event and notes together: the notes are the sentences, beginning at the
    first word that starts one ("The Panel will review..."); the event is a phrase, not a sentence."""
    match = re.search(r" (?=(?:The|A|An|This|These|It|Preliminary|SECAS|DCC will|Parties) )", text)
    if match and text.rstrip().endswith("."):
        return text[:match.start()].strip(), text[match.end():].strip()
    return text, ""


def _milestone_kind(event: str) -> MilestoneKind:
    lowered = event.lower()
    if "baseline" in lowered:
        return MilestoneKind.BASELINE
    if "evidence" in lowered:
        return MilestoneKind.EVIDENCE
    if "go/no-go" in lowered or "decision" in lowered:
        return MilestoneKind.PANEL_DECISION
    if "go-live" in lowered or "go live" in lowered:
        return MilestoneKind.GO_LIVE
    if "review" in lowered and ("operations group" in lowered or "opsg" in lowered):
        return MilestoneKind.OPSG_REVIEW
    return MilestoneKind.OTHER


def _qualifier(words: str | None) -> str:
    return {"estimated to be ": "estimated", "around ": "around"}.get(words or "", "fixed")


def _owner(text: str) -> Role | None:
    """The RID names a criterion's owner as its subject: "The DCC has...", "SECAS will..."."""
    if re.match(r"^(The )?SECAS\b", text):
        return Role.SECAS
    if re.match(r"^(The )?DCC\b", text):
        return Role.DCC
    return None


def read_rid(filename: str, data: bytes, groups: tuple[str, ...] = DEFAULT_GROUPS) -> Reading:
    """Read a RID file (PDF, DOCX or text); NotARid if it cannot be read or holds no RID."""
    source = read_source(filename, data)
    reading = _Reader(source, tuple(groups)).read()
    found = sum(len(s.items) for s in reading.sections)
    if found < 3 or not any(s.items for s in reading.sections if s.key in ("scope", "criteria", "timeline")):
        raise NotARid("The file does not read as a RID: none of its sections (1. Scope ... Appendix 2: Glossary) "
                      "were found.")
    return reading


def comparable(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A stored rid_snapshot() in the reader's shape: names for ids, only what the published RID shows (the scope
    entries in scope, document titles for the documents the release updates), without the release's code."""
    mps = {e["mp_id"]: e["mp"] for e in snapshot["scope"]}
    groups = {g["id"]: g["name"] for g in snapshot["participant_groups"]}
    documents = {d["id"]: d["name"] for d in snapshot["sec_documents"]}
    in_scope = [e for e in snapshot["scope"] if e["status"] in (ScopeStatus.APPROVED, ScopeStatus.TARGETED)]
    in_scope = [e for e in in_scope if e["status"] == ScopeStatus.APPROVED] + \
        [e for e in in_scope if e["status"] == ScopeStatus.TARGETED]
    in_scope_ids = {e["mp_id"] for e in in_scope}
    document_ticks = sorted([mps[m], documents[d]] for m, d in snapshot["document_impacts"] if m in in_scope_ids)
    ticked = {d for _, d in document_ticks}
    strip = lambda rows: [{k: v for k, v in row.items() if k not in ("id", "mp_id")} for row in rows]
    release = dict(snapshot["release"])
    release.pop("code", None)
    release["notes"] = {k: "" if (v or "").strip() == DERIVED_NOTES.get(k) else (v or "")
                        for k, v in release["notes"].items()}
    return {
        "release": release,
        "scope": [dict(row, url="") for row in strip(in_scope)],
        "change_requests": strip(snapshot["change_requests"]),
        "participant_groups": [{"name": g["name"]} for g in snapshot["participant_groups"]],
        "sec_documents": [{"name": d["name"], "title": d["title"] if d["name"] in ticked else ""}
                          for d in snapshot["sec_documents"]],
        "participant_impacts": sorted([mps[m], groups[g]] for m, g in snapshot["participant_impacts"]
                                      if m in in_scope_ids),
        # The RID shows the party summaries, then the DCC's (their positions interleave in the tables).
        "impact_summaries": strip(sorted(snapshot["impact_summaries"], key=lambda s: s["kind"] != "party")),
        "document_impacts": document_ticks,
        "other_code_impacts": strip(snapshot["other_code_impacts"]),
        "milestones": strip(snapshot["milestones"]),
        "test_phases": strip(snapshot["test_phases"]),
        "cost_items": strip(_by_party(snapshot["cost_items"])),
        "criteria": strip(snapshot["criteria"]),
        "glossary": strip(snapshot["glossary"]),
    }


def _by_party(costs: list[dict]) -> list[dict]:
    """Costs in the RID's order: each party's paragraph in turn (rid_view's cost groups)."""
    parties = list(dict.fromkeys(c["party"] for c in costs))
    return sorted(costs, key=lambda c: parties.index(c["party"]))


def without_urls(rid: dict[str, Any]) -> dict[str, Any]:
    """A reading's RID with the modifications' web pages left out (a published RID does not print them)."""
    release = dict(rid["release"])
    release.pop("code", None)
    return dict(rid, release=release, scope=[dict(e, url="") for e in rid["scope"]])
