"""OpsG assessments of criteria and evidence requests to their owners; the criterion page."""
