"""/api/v1/tokens/ and /api/v1/auth/token/: a user's API tokens."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from annotator.accounts import logins, tokens
from annotator.accounts.serializers import (
    LoginInputSerializer,
    TokenInfoOutputSerializer,
    TokenOutputSerializer,
)
from annotator.api.errors import Invalid
from annotator.api.viewsets import parse_input


class TokenView(APIView):
    """Your API tokens (annotator.accounts.tokens): creating one revokes all earlier keys."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "tokens"

    @extend_schema(
        responses={
            200: TokenInfoOutputSerializer,
            404: OpenApiResponse(description="You have no token."),
        },
        summary="Your newest live token (its first characters, creation and expiry times)",
    )
    def get(self, request: Request) -> Response:
        token = tokens.token_get(user=request.user)
        if token is None:
            raise exceptions.NotFound("You have no API token.")
        context = {"live_tokens": tokens.token_count(user=request.user)}
        return Response(TokenInfoOutputSerializer(token, context=context).data)

    @extend_schema(
        request=None,
        responses={201: TokenOutputSerializer},
        summary="Create a new token (all earlier ones stop working)",
    )
    def post(self, request: Request) -> Response:
        token = tokens.token_replace(user=request.user)
        return Response(TokenOutputSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked"),
            404: OpenApiResponse(description="You have no token."),
        },
        summary="Revoke all your tokens",
    )
    def delete(self, request: Request) -> Response:
        if not tokens.token_revoke(user=request.user):
            raise exceptions.NotFound("You have no API token.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginTokenView(APIView):
    """For scripts: trade a username and password for a new token of the user's own (earlier
    ones keep working until they expire or are revoked). Throttled per client,
    and failed passwords count with the log-in page's (annotator.accounts.logins)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=LoginInputSerializer,
        responses={200: TokenOutputSerializer},
        auth=[],
        summary="Get your token with your username and password",
    )
    def post(self, request: Request) -> Response:
        data = parse_input(LoginInputSerializer, request.data)
        username = data["username"]
        # The Django request: django-axes marks a locked-out attempt on it, and its middleware
        # answers 429 in place of this view's response.
        user = authenticate(request._request, username=username, password=data["password"])
        if user is None:
            raise Invalid("Unknown username or wrong password.", code="invalid_credentials")
        logins.login_failures_forget(username=username)
        token = tokens.token_create(user=user)
        return Response(TokenOutputSerializer(token).data)
