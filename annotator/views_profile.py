"""The user's profile page: their roles and their API tokens (create or replace, revoke)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from annotator.api import tokens


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    new_key = None
    if request.method == "POST":
        match request.POST.get("action"):
            case "create":
                new_key = tokens.token_replace(user=request.user).key
            case "revoke":
                tokens.token_revoke(user=request.user)
            case _:
                return HttpResponse(
                    "Unknown action: expected create or revoke.",
                    status=400,
                    content_type="text/plain",
                )
    context = {
        "token": tokens.token_get(user=request.user),
        "live_tokens": tokens.token_count(user=request.user),
        # The full key is shown once, right after it is made: the server keeps only its hash.
        "new_key": new_key,
        "roles": sorted(group.name for group in request.user.groups.all()),
    }
    return render(request, "annotator/profile.html", context)
