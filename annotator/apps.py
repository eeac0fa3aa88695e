from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate

from annotator.role_permissions import roles_ensure


class AnnotatorConfig(AppConfig):
    name = "annotator"
    verbose_name = "Micro-expression annotation"

    def ready(self) -> None:
        # Not a cycle of ours: django-axes's helpers import its models, which Django lets no
        # module do before the apps are loaded, and this module is what loads them.
        from annotator.accounts.logins import forget_failures_on_log_in

        # Runs after auth has created the permissions the groups are given.
        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="annotator.roles_ensure")
        user_logged_in.connect(
            forget_failures_on_log_in, dispatch_uid="annotator.forget_failures_on_log_in"
        )
