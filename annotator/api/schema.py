"""OpenAPI additions: every operation documents the error body for the failures any endpoint can
answer with, so clients (and Schemathesis) know the shape of a 401 or a 404 too."""

import threading
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import BasePermission

ERROR_COMPONENT = "ErrorResponse"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every failure: one item per problem, `field` null for the request as a whole.",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {
                        "type": "string",
                        "nullable": True,
                        "description": "Dotted path into the request, e.g. action_units.0.au",
                    },
                    "code": {"type": "string", "description": "Machine-readable, e.g. invalid"},
                    "message": {"type": "string", "description": "For people"},
                },
                "required": ["field", "code", "message"],
            },
        }
    },
    "required": ["errors"],
}
COMMON_ERRORS = {
    "400": "Invalid input (body, query parameters or filters).",
    "401": "Not authenticated: send `Authorization: Token <key>` or log in.",
    "403": "Your role does not allow this.",
    "404": "Not found, or not yours to see.",
    "406": "The Accept header asks for a format this endpoint does not produce.",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
}
BODY_ERRORS = {"415": "Unsupported request body media type."}
# A POST may start a job; when the job queue cannot be reached it is refused (the job row is
# failed, so it can be started again) with Retry-After.
POST_ERRORS = {"503": "The job queue is unreachable; try again after Retry-After seconds."}
METHODS = {"get", "put", "post", "patch", "delete"}


def add_error_responses(result: dict, generator, request, public) -> dict:
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            errors = dict(COMMON_ERRORS)
            if "requestBody" in operation:
                errors.update(BODY_ERRORS)
            if method == "post":
                errors.update(POST_ERRORS)
            responses = operation.setdefault("responses", {})
            for code, description in errors.items():
                responses.setdefault(code, {"description": description})
            # Views declare their own 4xx (409, 413) by description only; the body is this one,
            # for the 503 too.
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    response["content"] = {"application/json": {"schema": reference}}
    return result


class ApiDocsReaders(BasePermission):
    """The schema describes every endpoint: users only, unless MESTUDIO_API_DOCS_PUBLIC."""

    message = "Log in (or send your token) to read the API schema."

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or request.user.is_authenticated


def api_docs_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The docs pages (Swagger UI, Redoc) send a visitor to the log-in page first, unless
    MESTUDIO_API_DOCS_PUBLIC; the schema they read is guarded by ApiDocsReaders."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if settings.API_DOCS_PUBLIC or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        return redirect_to_login(request.get_full_path())

    return guarded


class SchemaView(SpectacularAPIView):
    """drf-spectacular resolves its extensions lazily and not thread-safely: two first requests
    for the schema at once (threaded workers) can fail with a 500. One generation at a time."""

    permission_classes = [ApiDocsReaders]
    _lock = threading.Lock()

    def _get_schema_response(self, request):
        with self._lock:
            return super()._get_schema_response(request)
