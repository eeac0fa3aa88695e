"""What every MEStudio management command shares: the service refusals mapped once."""

from django.core.management.base import BaseCommand, CommandError

from annotator.errors import ApplicationError


class ServiceCommand(BaseCommand):
    """A command whose services' refusals (`annotator.errors`) end it with their message and exit
    status 1, as CommandError does, instead of a traceback."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except ApplicationError as refusal:
            raise CommandError(refusal.message) from None
