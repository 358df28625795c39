"""Recommendation, vote, decision, go-live and deferral services."""
from __future__ import annotations


def decision_summary(release, user):
    """What the release page shows of the recommendation, vote and decision (None until built)."""
    return None
