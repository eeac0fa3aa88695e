"""One error body for every failure the API reports:

    {"errors": [{"field": "onset", "code": "invalid", "message": "Frame 3 is not in this clip"}]}

`field` is a dotted path into the request (`action_units.0.au`) or null when the error concerns
the request as a whole. Services raise Django's ValidationError (400) and the `annotator.errors`
family, whose status, code and field each error carries (400, 409 or 503); they are turned into
responses here, once, so views never translate them one by one.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from annotator.errors import ApplicationError, JobQueueUnreachableError

NON_FIELD_KEYS = {api_settings.NON_FIELD_ERRORS_KEY, "__all__", "detail"}


class Conflict(exceptions.APIException):
    """The request is well formed but the resource's state forbids it (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The resource is not in a state that allows this."

    def __init__(self, detail: str, *, code: str, field: str | None = None) -> None:
        super().__init__({field or "detail": [exceptions.ErrorDetail(detail, code=code)]})


class Invalid(exceptions.ValidationError):
    """Input that passed the serializer but is wrong in context (a duplicate name, an unknown
    layer): 400 with one error on `field`, or on the request as a whole."""

    def __init__(self, detail: str, *, code: str, field: str | None = None) -> None:
        super().__init__({field or "detail": [exceptions.ErrorDetail(detail, code=code)]})


class Refused(exceptions.APIException):
    """A service's `ApplicationError`, with the status, code and field it carries."""

    def __init__(self, error: ApplicationError) -> None:
        self.status_code = error.status_code
        super().__init__(
            {error.field or "detail": [exceptions.ErrorDetail(error.message, code=error.code)]}
        )


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The upload is too large."


def error_body(*, field: str | None, code: str, message: str) -> dict:
    return {"errors": [{"field": field, "code": code, "message": message}]}


def _flatten(detail, path: str | None) -> list[dict]:
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            if key in NON_FIELD_KEYS:
                items += _flatten(value, path)
            else:
                items += _flatten(value, f"{path}.{key}" if path else str(key))
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            # A list of messages belongs to `path`; a list of nested objects is indexed.
            nested = isinstance(value, dict | list)
            items += _flatten(value, f"{path}.{index}" if nested and path else path)
        return items
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": path, "code": str(code), "message": str(detail)}]


def _from_django_validation_error(error: DjangoValidationError) -> exceptions.ValidationError:
    def details(messages: list[DjangoValidationError]) -> list[exceptions.ErrorDetail]:
        return [exceptions.ErrorDetail(next(iter(m)), code=m.code or "invalid") for m in messages]

    if hasattr(error, "error_dict"):
        return exceptions.ValidationError(
            {field: details(messages) for field, messages in error.error_dict.items()}
        )
    return exceptions.ValidationError({"detail": details(error.error_list)})


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    refused = exc if isinstance(exc, ApplicationError) else None
    if refused is not None:
        exc = Refused(refused)
    elif isinstance(exc, DjangoValidationError):
        exc = _from_django_validation_error(exc)
    response = exception_handler(exc, context)
    if response is None:  # an unexpected exception: Django's 500 handling and logging apply
        return None
    if isinstance(refused, JobQueueUnreachableError):
        response["Retry-After"] = str(JobQueueUnreachableError.retry_after_seconds)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    response.data = {"errors": _flatten(detail, None)}
    return response


@csrf_exempt  # a POST to a mistyped URL deserves the 404, not a CSRF page
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Unknown URLs under /api/ answer with the API's error body, not Django's HTML page."""
    return JsonResponse(
        error_body(
            field=None,
            code="not_found",
            message=f"No API endpoint at {request.path} (URLs end with a slash; see /api/docs/).",
        ),
        status=404,
    )
