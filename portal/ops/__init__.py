"""Operations: health checks for the load balancer, structured logs, backup and restore (run by an operator)."""
