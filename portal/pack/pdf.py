"""The decision pack as a PDF (weasyprint), rendered from the same data as the JSON."""
from __future__ import annotations

import datetime as dt

from typing import Any, Iterator

from flask import render_template
from weasyprint import HTML

from ..access import Role
from ..criteria.models import AssessmentStatus
from ..decisions.models import ConditionState, ConfirmationKind, RecommendationKind
from ..releases.models import Stage
from ..timeutil import uk_date, uk_time


def _signed(pack: dict[str, Any]) -> Iterator[tuple[str, dict]]:
    """Every signature in the pack, with what it signed."""
    for c in pack["criteria"]:
        for a in c["assessments"]:
            if a["signature"]:
                yield f"Criterion {c['number']} assessment", a["signature"]
    for r in pack["recommendations"]:
        yield f"OpsG recommendation, round {r['round']}", r["signature"]
    for v in pack["votes"]:
        for b in v["ballots"]:
            if b.get("signature"):
                yield f"Ballot, round {v['round']}", b["signature"]
    for d in pack["decisions"]:
        yield f"Panel decision, round {d['round']}", d["signature"]
    for c in pack["go_live_confirmations"]:
        yield f"Go-live confirmation: {ConfirmationKind(c['kind']).label}", c["signature"]


def _when(value: str | None) -> str:
    return uk_time(dt.datetime.fromisoformat(value)) if value else ""


def _day(value: str | None) -> str:
    """An ISO date of the pack, as every date of the pack reads: "14 August 2020"."""
    return uk_date(dt.date.fromisoformat(value)) if value else ""


def pack_html(pack: dict[str, Any]) -> str:
    people = {p["email"]: p for p in pack["people"]}
    return render_template("pack/pack.html", pack=pack, people=people, signatures=list(_signed(pack)),
                           when=_when, day=_day, role_label=lambda r: Role(r).label if r else "",
                           stage_label=lambda s: Stage(s).label,
                           status_label=lambda s: AssessmentStatus(s).label,
                           recommendation_label=lambda k: RecommendationKind(k).label,
                           confirmation_label=lambda k: ConfirmationKind(k).label,
                           condition_label=lambda s: ConditionState(s).label)


def render_pdf(pack: dict[str, Any]) -> bytes:
    # Tagged (PDF/UA-1: headings, table headers, reading order and the document's language) for screen readers.
    return HTML(string=pack_html(pack)).write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
