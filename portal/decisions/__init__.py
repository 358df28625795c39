"""OpsG recommendation, the Panel's go/no-go vote and decision, go-live confirmations and deferral."""
