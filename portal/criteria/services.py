"""Assessments and evidence requests (OpsG); the readiness grid."""
from __future__ import annotations


def readiness_grid(release):
    """The grid of criteria by latest status for the release page (None until built)."""
    return None
