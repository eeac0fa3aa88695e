"""The user's profile page: their roles, their workbench keys, and their API tokens (create or
replace, revoke)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from annotator import keymap
from annotator.accounts import selectors as accounts_selectors
from annotator.accounts import services as accounts
from annotator.accounts import tokens


def _key_rows(*, overrides: dict, typed: dict[str, str], problems: dict) -> list[dict]:
    """One row per action a coder may rebind: what it does, its keys as typed, its problems."""
    return [
        {
            "action": entry["action"],
            "help": entry["help"],
            "typed": typed.get(entry["action"], keymap.keys_as_typed(entry["keys"])),
            "changed": entry["action"] in overrides,
            "problems": problems.get(entry["action"], []),
        }
        for entry in keymap.key_map_as_saved(overrides=overrides)
        if entry["action"] not in keymap.FIXED_ACTIONS
    ]


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    new_key, typed, problems, status = None, {}, {}, 200
    if request.method == "POST":
        match request.POST.get("action"):
            case "create":
                new_key = tokens.token_replace(user=request.user).key
            case "revoke":
                tokens.token_revoke(user=request.user)
            case "keys":
                typed = {
                    entry["action"]: request.POST.get(f"keys-{entry['action']}", "")
                    for entry in keymap.WORKBENCH_KEYS
                    if entry["action"] not in keymap.FIXED_ACTIONS
                }
                overrides = {a: keymap.keys_from_typed(text) for a, text in typed.items()}
                try:
                    accounts.coder_key_map_update(coder=request.user, overrides=overrides)
                    typed = {}
                except ValidationError as error:
                    problems, status = error.message_dict, 400
            case "keys-reset":
                accounts.coder_key_map_update(coder=request.user, overrides={})
            case _:
                return HttpResponse(
                    "Unknown action: expected create, revoke, keys or keys-reset.",
                    status=400,
                    content_type="text/plain",
                )
    overrides = accounts_selectors.coder_preferences(coder=request.user).key_overrides
    # Keys saved before a newer default took one of them break the rules now: the workbench
    # leaves them out, and the coder sees why beside them until they change them.
    set_aside = {} if problems else keymap.key_map_check(overrides)
    context = {
        "token": tokens.token_get(user=request.user),
        "live_tokens": tokens.token_count(user=request.user),
        # The full key is shown once, right after it is made: the server keeps only its hash.
        "new_key": new_key,
        "roles": sorted(group.name for group in request.user.groups.all()),
        "key_rows": _key_rows(overrides=overrides, typed=typed, problems=problems or set_aside),
        "keys_refused": bool(problems),
        "keys_set_aside": bool(set_aside),
    }
    return render(request, "annotator/accounts/profile.html", context, status=status)
