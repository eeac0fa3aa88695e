"""The MEStudio Django project. Importing the Celery app here lets `@shared_task` bind to it."""

from mestudio.celery_app import app as celery_app

__all__ = ["celery_app"]
