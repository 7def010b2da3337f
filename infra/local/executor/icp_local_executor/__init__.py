"""LocalStack Lambda runtime executor running each execution environment as a local process."""
