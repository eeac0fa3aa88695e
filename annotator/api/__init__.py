"""The REST API under /api/v1/ (issue 8): thin DRF views over annotator.selectors and services."""
