"""The decision pack: a release's whole go/no-go record as PDF and JSON, for any signed-in role; JSON re-imports."""
