"""Jobs: every long job's status row and its lifecycle (`services`)."""
