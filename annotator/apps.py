from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AnnotatorConfig(AppConfig):
    name = "annotator"
    verbose_name = "Micro-expression annotation"

    def ready(self) -> None:
        from annotator.roles import roles_ensure

        # Runs after auth has created the permissions the groups are given.
        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="annotator.roles_ensure")
