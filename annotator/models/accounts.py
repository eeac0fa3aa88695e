"""Roles a user holds (auth groups)."""

from django.db import models


class Role(models.TextChoices):
    """Roles are auth groups, so admins manage them in the Django admin."""

    CODER = "coder", "Coder"
    REVIEWER = "reviewer", "Reviewer"
    RESEARCHER = "researcher", "Researcher"
    ADMIN = "admin", "Admin"
