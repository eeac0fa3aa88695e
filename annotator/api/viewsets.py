"""The API's base viewsets and the helpers every domain's api.py shares. Views stay thin: parse
with an input serializer, call a selector or service, answer with an output serializer. Errors
raised by services (the annotator.errors family, Django's ValidationError) become error bodies
in annotator.api.errors, so views do not catch them.

Each resource is one viewset in its domain's api.py, registered in annotator.api_router, with
the permissions each of its actions needs.
"""

from rest_framework import mixins, status, viewsets
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.api.permissions import ActionPermissions


class RoleViewSet(viewsets.GenericViewSet):
    """A viewset whose actions each name the permissions they need (see permissions.py)."""

    permission_classes = [ActionPermissions]
    required_perms: dict[str, list[str]] = {}
    output_serializers: dict[str, type] = {}

    def get_serializer_class(self):
        return self.output_serializers.get(self.action, self.serializer_class)


# List and retrieve, both open to `read_perms`; further actions name theirs in `required_perms`.
# (Not a docstring: the schema would show it as the description of every resource without one.)
class ReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RoleViewSet):
    read_perms: list[str] = []

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.required_perms = {
            **cls.required_perms,
            "list": cls.read_perms,
            "retrieve": cls.read_perms,
        }


def accepted(body: dict, *, location: str, request: Request) -> Response:
    """202: the work is queued; Location is where to follow it."""
    return Response(
        body,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": request.build_absolute_uri(location)},
    )


def parse_input(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class JSONErrorsOnly(BaseContentNegotiation):
    """The frame endpoint answers JPEG bytes whatever the Accept header says; its errors are
    JSON bodies like everywhere else."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
