"""Two RID snapshots compared section by section: rows added, removed, changed and moved, and a word-level redline
of every changed text. Both sides go through rid_view(), so the comparison reads as the RID does."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable

from markupsafe import Markup, escape

from ..releases.rid_view import IN_SCOPE, rid_view
from .render import TICK, rid_day


def redline(before: str, after: str) -> Markup:
    """`after` with the words taken out struck through (<del>) and the words put in underlined (<ins>), each
    announced as "removed:" / "added:" to a screen reader, so the change reads without colour."""
    old, new = (before or "").split(), (after or "").split()
    pieces: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(str(escape(" ".join(new[j1:j2]))))
        if op in ("delete", "replace"):
            pieces.append(f'<del><span class="govuk-visually-hidden visually-hidden">removed: </span>'
                          f'{escape(" ".join(old[i1:i2]))}</del>')
        if op in ("insert", "replace"):
            pieces.append(f'<ins><span class="govuk-visually-hidden visually-hidden">added: </span>'
                          f'{escape(" ".join(new[j1:j2]))}</ins>')
    return Markup(" ".join(pieces))


@dataclass
class FieldChange:
    label: str
    before: str
    after: str

    @property
    def marked(self) -> Markup:
        return redline(self.before, self.after)


@dataclass
class RowChange:
    label: str  # the row as the RID names it: "MP122", "Criterion 4", "Panel go/no-go decision"
    kind: str  # "added", "removed", "changed", "moved"
    values: list[tuple[str, str]] = field(default_factory=list)  # added/removed: the row's fields
    changes: list[FieldChange] = field(default_factory=list)  # changed: the fields that changed
    positions: tuple[int, int] = (0, 0)  # moved: its place in its list before and after, counted from 1

    @property
    def direction(self) -> str:
        return "up" if self.positions[1] < self.positions[0] else "down"


@dataclass
class Part:
    """One table or text of a section: what changed in it."""
    title: str
    rows: list[RowChange] = field(default_factory=list)


@dataclass
class SectionChange:
    title: str
    anchor: str
    parts: list[Part] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(p.rows for p in self.parts)


Column = tuple[str, Callable[[dict], str]]


def _common_order(old: list, new: list) -> set:
    """The longest common subsequence of two orders of the same keys: the rows that kept their relative order.
    Where two neighbours swapped places, the later one of the old order reads as the one that moved up."""
    lengths = [[0] * (len(new) + 1) for _ in range(len(old) + 1)]
    for i in range(len(old) - 1, -1, -1):
        for j in range(len(new) - 1, -1, -1):
            lengths[i][j] = (lengths[i + 1][j + 1] + 1 if old[i] == new[j]
                             else max(lengths[i + 1][j], lengths[i][j + 1]))
    kept, i, j = set(), 0, 0
    while i < len(old) and j < len(new):
        if old[i] == new[j]:
            kept.add(old[i])
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] > lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def _moves(before: list[dict], after: list[dict], key: Callable[[dict], Any], among: Callable[[dict], Any],
           label: Callable[[dict], str]) -> list[RowChange]:
    """The rows whose place in their list changed relative to the others: of the rows in the same list in both
    versions, those outside the longest run kept in order. An inserted or removed row moves nobody, nor does a row
    that changed list (its new list is a changed field)."""
    def lists(rows: list[dict]) -> dict[Any, list[Any]]:
        grouped: dict[Any, list[Any]] = {}
        for row in rows:
            grouped.setdefault(among(row), []).append(key(row))
        return grouped

    old_lists, new_lists = lists(before), lists(after)
    rows = {key(r): r for r in after}
    moves = []
    for group, new_keys in new_lists.items():
        old_keys = old_lists.get(group, [])
        both = set(old_keys) & set(new_keys)
        old_order, new_order = [k for k in old_keys if k in both], [k for k in new_keys if k in both]
        kept = _common_order(old_order, new_order)
        moves += [RowChange(label(rows[k]), "moved", positions=(old_keys.index(k) + 1, new_keys.index(k) + 1))
                  for k in new_order if k not in kept]
    return moves


def _rows(title: str, before: list[dict], after: list[dict], key: Callable[[dict], Any],
          label: Callable[[dict], str], columns: list[Column], *, ordered: bool = True,
          among: Callable[[dict], Any] = lambda row: None) -> Part:
    """Rows matched by `key`: those only after are added, only before removed, in both with a field changed; and,
    where the author orders the rows (`ordered`, within the lists `among` names), those moved."""
    part = Part(title)
    old = {key(r): r for r in before}
    new = {key(r): r for r in after}
    for k, row in old.items():
        if k not in new:
            part.rows.append(RowChange(label(row), "removed", [(c, get(row)) for c, get in columns]))
    for k, row in new.items():
        if k not in old:
            part.rows.append(RowChange(label(row), "added", [(c, get(row)) for c, get in columns]))
            continue
        changes = [FieldChange(c, get(old[k]), get(row)) for c, get in columns if get(old[k]) != get(row)]
        if changes:
            part.rows.append(RowChange(label(row), "changed", changes=changes))
    if ordered:
        part.rows += _moves(before, after, key, among, label)
    order = {"removed": 0, "added": 1, "changed": 2, "moved": 3}
    part.rows.sort(key=lambda r: order[r.kind])
    return part


def _texts(title: str, before: dict[str, str], after: dict[str, str]) -> Part:
    """Narrative paragraphs (label → text) compared word by word."""
    part = Part(title)
    for label in dict.fromkeys([*before, *after]):
        old, new = (before.get(label) or "").strip(), (after.get(label) or "").strip()
        if old == new:
            continue
        kind = "added" if not old else "removed" if not new else "changed"
        part.rows.append(RowChange(label, kind, [(label, new or old)] if kind != "changed" else [],
                                   [FieldChange(label, old, new)] if kind == "changed" else []))
    return part


def _matrix(title: str, first: str, matrix: dict, key: str) -> list[dict]:
    """A matrix as rows of named cells, so a tick compares by its column, not its position."""
    return [{first: row[key], **{col: TICK if on else "" for col, on in zip(matrix["columns"], row["cells"])}}
            for row in matrix["rows"]]


def _matrix_part(title: str, first: str, before: dict, after: dict, key: str, *, ordered: bool) -> Part:
    old, new = _matrix(title, first, before, key), _matrix(title, first, after, key)
    columns = list(dict.fromkeys([*before["columns"], *after["columns"]]))
    return _rows(title, old, new, lambda r: r[first], lambda r: r[first],
                 [(c, (lambda col: lambda r: "Impacted" if r.get(col) else "Not impacted")(c)) for c in columns],
                 ordered=ordered)


def _str(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return rid_day(value)
    return str(value)


def _get(name: str) -> Callable[[dict], str]:
    return lambda row: _str(row.get(name))


NOTE_LABELS = {"about": "About this document", "approved_mps_note": "Approved Modification Proposals",
               "targeted_mps_note": "Targeted Modification Proposals", "change_requests_note": "DCC Change Requests",
               "document_impacts_note": "SEC document impacts", "other_codes_note": "Other Code impacts",
               "test_strategy_note": "Test strategy", "user_testing_note": "User testing",
               "dcc_costs_note": "DCC costs", "secas_costs_note": "SECAS costs"}


def _notes(rid: dict, keys: list[str]) -> dict[str, str]:
    return {NOTE_LABELS[k]: rid["notes"].get(k) or "" for k in keys}


def compare_snapshots(before: dict[str, Any], after: dict[str, Any]) -> list[SectionChange]:
    """Every section of the RID, in its order, with what changed between two snapshots."""
    a, b = rid_view(before), rid_view(after)
    scope_columns: list[Column] = [("Modification", lambda e: f"{e['mp']} ‘{e['title']}’"),
                                   ("Status", lambda e: e["status"].value.capitalize()),
                                   ("Summary", _get("summary")), ("Decision cut-off date", _get("cutoff_date")),
                                   ("Moved to", _get("moved_to"))]
    scope = lambda rid: rid["scope_approved"] + rid["scope_targeted"] + rid["scope_out"]  # noqa: E731
    scope_list = lambda e: e["status"] if e["status"] in IN_SCOPE else "out"  # noqa: E731
    summaries = lambda rid: [s for g in rid["party_summaries"] + rid["dcc_summaries"] for s in g["items"]]  # noqa
    release = lambda rid: [{"id": 0, "name": rid["release"]["name"],  # noqa: E731
                            "planned_go_live": rid["release"]["planned_go_live"]}]
    return [
        SectionChange("About this document", "about", [
            _rows("The release", release(a), release(b), lambda r: r["id"], lambda r: "The release",
                  [("Name", _get("name")), ("Planned go-live", _get("planned_go_live"))]),
            _texts("About this document", _notes(a, ["about"]), _notes(b, ["about"]))]),
        SectionChange("1. Scope", "scope", [
            _rows("Modification Proposals", scope(a), scope(b), lambda e: e["mp"], lambda e: e["mp"],
                  scope_columns, among=scope_list),
            _rows("DCC Change Requests", a["change_requests"], b["change_requests"], lambda c: c["id"],
                  lambda c: c["reference"], [("Reference", _get("reference")), ("Title", _get("title"))]),
            _texts("Notes", *(_notes(r, ["approved_mps_note", "targeted_mps_note", "change_requests_note"])
                              for r in (a, b)))]),
        SectionChange("2. Impacts", "impacts", [
            # Its rows follow the scope's order (a move there is reported there); its columns are the groups.
            _matrix_part("Participant impact matrix", "Modification", a["participant_matrix"],
                         b["participant_matrix"], "mp", ordered=False),
            _rows("Participant groups (the matrix's columns)", a["participant_groups"], b["participant_groups"],
                  lambda g: g["id"], lambda g: g["name"], [("Name", _get("name"))]),
            _rows("Impact summaries", summaries(a), summaries(b), lambda s: s["id"],
                  lambda s: s["subject"], [("Participant or area", _get("subject")), ("Summary", _get("text"))],
                  among=lambda s: (s["kind"], s["subject"])),
            _matrix_part("SEC document impact matrix", "Document", a["document_matrix"], b["document_matrix"],
                         "name", ordered=True),
            _rows("Other Code impacts", a["other_code_impacts"], b["other_code_impacts"], lambda o: o["id"],
                  lambda o: o["code"], [("Code", _get("code")), ("Impact", _get("description"))]),
            _texts("Notes", *(_notes(r, ["document_impacts_note", "other_codes_note"]) for r in (a, b)))]),
        SectionChange("3. Implementation timeline", "timeline", [
            _rows("Release implementation timetable", a["milestones"], b["milestones"], lambda m: m["id"],
                  lambda m: m["event"], [("Date", _get("due_on")), ("Event", _get("event")),
                                         ("Notes", _get("notes"))], ordered=False)]),  # ordered by date
        SectionChange("4. Test strategy", "test-strategy", [
            _rows("Test phases", a["test_phases"], b["test_phases"], lambda t: t["id"], lambda t: t["name"],
                  [("Phase", _get("name")), ("Required", lambda t: "Required" if t["applies"] else "Not required"),
                   ("Reason", _get("reason"))]),
            _texts("Test strategy", *(_notes(r, ["test_strategy_note", "user_testing_note"]) for r in (a, b)))]),
        SectionChange("5. Costs", "costs", [
            _rows("Costs", a["cost_items"], b["cost_items"], lambda c: c["id"],
                  lambda c: f"{c['party']}: {c['description']}",
                  [("Party", _get("party")), ("Cost", _get("description")),
                   ("Amount", lambda c: c["amount"][:1].upper() + c["amount"][1:]),
                   ("Already budgeted", lambda c: "Yes" if c["already_budgeted"] else "No")],
                  among=lambda c: c["party"]),
            _texts("Notes", *(_notes(r, ["dcc_costs_note", "secas_costs_note"]) for r in (a, b)))]),
        SectionChange("6. Acceptance criteria", "criteria", [
            _rows("Operational acceptance criteria", a["criteria"], b["criteria"], lambda c: c["id"],
                  lambda c: f"Criterion {c['number']}", [("Number", _get("number")), ("Criterion", _get("text"))],
                  ordered=False)]),  # ordered by number
        SectionChange("Appendix 2: Glossary", "glossary", [
            _rows("Glossary", a["glossary"], b["glossary"], lambda g: g["id"], lambda g: g["acronym"],
                  [("Acronym", _get("acronym")), ("Full term", _get("term"))])]),
    ]
