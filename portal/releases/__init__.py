"""Releases and their RID. Everyone reads; SECAS edits the RID; the Panel baselines it."""
