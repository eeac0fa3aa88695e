"""The REST API under /api/v1/ (issue 8): thin DRF views over each domain's
selectors and services."""
