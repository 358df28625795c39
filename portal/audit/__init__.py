"""The append-only record. Every service writes its event here; admins and everyone on a release read it."""
