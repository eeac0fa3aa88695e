from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class AnnotatorConfig(AppConfig):
    name = "annotator"
    verbose_name = "Micro-expression annotation"

    def ready(self) -> None:
        # Not a cycle: Django imports this module before any model is loaded, so what touches
        # models (auth's, ours) may only be imported here, where the docs connect signals.
        from annotator.accounts.logins import forget_failures_on_log_in
        from annotator.roles import roles_ensure

        # Runs after auth has created the permissions the groups are given.
        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="annotator.roles_ensure")
        user_logged_in.connect(
            forget_failures_on_log_in, dispatch_uid="annotator.forget_failures_on_log_in"
        )
