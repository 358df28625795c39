"""The RID shaped for display: one shape for the live RID and for any version's snapshot, so both render alike."""
from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Any

from ..access import Role
from .models import ScopeStatus

IN_SCOPE = (ScopeStatus.APPROVED, ScopeStatus.TARGETED)

# Sentences the RID derives from its data, shown only when the list they speak of is empty (never stored).
NO_APPROVED = "There are no modifications currently approved for this release."
NO_CHANGE_REQUESTS = "There are no DCC Change Requests planned to be implemented alongside this SEC Release."
NO_OTHER_CODES = "No other Codes are impacted as a result of this release."
# The narrative each replaces: a snapshot stored before they were derived may hold the same sentence there.
DERIVED_NOTES = {"approved_mps_note": NO_APPROVED, "change_requests_note": NO_CHANGE_REQUESTS,
                 "other_codes_note": NO_OTHER_CODES}


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _grouped(items: list[dict], key: str) -> list[dict]:
    """Consecutive items sharing `key`, in their RID order: [{"subject": ..., "items": [...]}]."""
    return [{"subject": subject, "items": list(group)} for subject, group in groupby(items, lambda i: i[key])]


# How the RID words an amount: "estimated to be £340,000", "around £1,200", or the amount alone when it is fixed.
AMOUNT_WORDING = {"estimated": "estimated to be {}", "around": "around {}", "fixed": "{}"}


def pounds(pence: int) -> str:
    """£1,200 or £1,200.50: how the portal and the RID print money (held in pence)."""
    return f"£{pence / 100:,.2f}".removesuffix(".00")


def _cost(item: dict) -> dict:
    """A cost item with the RID's own phrase for its amount (`qualifier` defaults to a fixed amount)."""
    qualifier = item.get("qualifier") or "fixed"
    return dict(item, qualifier=qualifier, amount=AMOUNT_WORDING[qualifier].format(pounds(item["amount_pence"])))


def rid_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Turn rid_snapshot() data (live or stored) into what the RID section templates show."""
    release = dict(snapshot["release"], planned_go_live=_date(snapshot["release"]["planned_go_live"]))
    scope = [dict(e, status=ScopeStatus(e["status"]), cutoff_date=_date(e["cutoff_date"]))
             for e in snapshot["scope"]]
    in_scope = [e for e in scope if e["status"] in IN_SCOPE]
    groups = snapshot.get("participant_groups", [])
    documents = snapshot.get("sec_documents", [])
    participant_ticks = {tuple(pair) for pair in snapshot["participant_impacts"]}
    document_ticks = {tuple(pair) for pair in snapshot["document_impacts"]}

    participant_rows = [{"id": e["id"], "mp": e["mp"], "title": e["title"],
                         "cells": [(e["mp_id"], g["id"]) in participant_ticks for g in groups]} for e in in_scope]
    document_rows = [dict(d, cells=[(e["mp_id"], d["id"]) in document_ticks for e in in_scope]) for d in documents]

    costs = [_cost(c) for c in snapshot["cost_items"]]
    parties = list(dict.fromkeys(c["party"] for c in costs))
    criteria = [dict(c, owner_role=Role(c["owner_role"])) for c in snapshot["criteria"]]
    summaries = snapshot["impact_summaries"]
    notes = {k: "" if (v or "").strip() == DERIVED_NOTES.get(k) else v for k, v in release["notes"].items()}
    scope_approved = [e for e in scope if e["status"] == ScopeStatus.APPROVED]
    return {
        "release": release,
        "notes": notes,
        "derived": {"approved": "" if scope_approved else NO_APPROVED,
                    "change_requests": "" if snapshot["change_requests"] else NO_CHANGE_REQUESTS,
                    "other_codes": "" if snapshot["other_code_impacts"] else NO_OTHER_CODES},
        "scope_approved": scope_approved,
        "scope_targeted": [e for e in scope if e["status"] == ScopeStatus.TARGETED],
        "scope_out": [e for e in scope if e["status"] not in IN_SCOPE],
        "change_requests": snapshot["change_requests"],
        "participant_groups": groups,
        "participant_matrix": {"columns": [g["name"] for g in groups], "rows": participant_rows},
        "document_matrix": {"columns": [e["mp"] for e in in_scope], "rows": document_rows},
        "documents_updated": [row for row in document_rows if any(row["cells"])],
        "party_summaries": _grouped([s for s in summaries if s["kind"] == "party"], "subject"),
        "dcc_summaries": _grouped([s for s in summaries if s["kind"] == "dcc"], "subject"),
        "other_code_impacts": snapshot["other_code_impacts"],
        "milestones": [dict(m, due_on=_date(m["due_on"]), acting_role=Role(m["acting_role"]))
                       for m in snapshot["milestones"]],
        "test_phases": snapshot["test_phases"],
        "cost_items": costs,
        # The RID states each party's costs in its own paragraph, with no totals.
        "cost_groups": [{"party": p, "items": [c for c in costs if c["party"] == p]} for p in parties],
        "criteria": criteria,
        "glossary": snapshot["glossary"],
    }


def find_row(rid: dict[str, Any], kind: str, row_id: int) -> dict[str, Any] | None:
    """The displayed row of one kind with this id (for returning a single row fragment)."""
    rows = {
        "milestone": rid["milestones"],
        "summary": [s for group in rid["party_summaries"] + rid["dcc_summaries"] for s in group["items"]],
        "participant": rid["participant_matrix"]["rows"],
    }[kind]
    return next((row for row in rows if row["id"] == row_id), None)
