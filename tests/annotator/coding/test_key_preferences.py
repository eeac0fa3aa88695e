"""A coder's own workbench keys: set on the profile page, held to the key map's rules (no AU
prefix, no key for two actions, only keys the workbench can bind), and used by the workbench,
its help and its emotion letters."""

import json
import re

import pytest
from django.urls import reverse

from annotator import keymap
from annotator.models import CoderPreferences
from tests.annotator.support.proposals import model_version, propose
from tests.factories import ClipFactory

pytestmark = pytest.mark.django_db


def typed_keys(**changes: str) -> dict[str, str]:
    """The profile form as it comes, with `changes` typed over the standard keys."""
    form = {
        f"keys-{entry['action']}": keymap.keys_as_typed(entry["keys"])
        for entry in keymap.WORKBENCH_KEYS
        if entry["action"] not in keymap.FIXED_ACTIONS
    }
    return {
        **form,
        **{f"keys-{action}": text for action, text in changes.items()},
        "action": "keys",
    }


def workbench_config(client, clip) -> dict:
    page = client.get(reverse("clip-code", args=[clip.pk])).content.decode()
    found = re.search(r'<script id="workbench-config" type="application/json">(.*?)</script>', page)
    return json.loads(found.group(1))


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"mark_onset": ["r"]}, "begins an AU code"),
        ({"mark_onset": ["7"]}, "begins an AU code"),
        ({"mark_onset": ["w"]}, "already the key for: set apex at the frame shown"),
        ({"zoom": ["Escape"]}, "not a key the workbench can bind"),
        ({"zoom": []}, "at least one key"),
        ({"au_entry_typed": ["x"]}, "AU entry keeps L, R and the digits"),
    ],
)
def test_keys_that_would_break_typing_or_collide_are_refused(overrides, problem):
    [[message]] = keymap.key_map_check(overrides).values()
    assert problem in message


def test_a_coder_rebinds_a_key_on_the_profile_page_and_the_workbench_uses_it(client, coder):
    client.force_login(coder)
    saved = client.post(reverse("profile"), typed_keys(mark_onset="b", play="Space p"))
    assert saved.status_code == 200
    stored = CoderPreferences.objects.get(coder=coder).key_overrides
    assert stored == {"mark_onset": ["b"], "play": [" ", "p"]}  # only what differs

    clip = ClipFactory()
    config = workbench_config(client, clip)
    keys = {entry["action"]: entry["keys"] for entry in config["keys"]}
    assert keys["mark_onset"] == ["b"] and keys["play"] == [" ", "p"]
    emotion_letters = {emotion["key"] for emotion in config["emotions"]}
    assert not emotion_letters & {"b", "p"}  # emotions move off the coder's keys
    page = client.get(reverse("clip-code", args=[clip.pk])).content.decode()
    assert "Onset <kbd>b</kbd>" in page
    assert 'title="Play/pause (Space p)"' in page  # the buttons' hints follow the coder's keys


def test_a_refused_key_map_is_shown_beside_its_field_and_nothing_is_saved(client, coder):
    client.force_login(coder)
    refused = client.post(reverse("profile"), typed_keys(mark_onset="R", zoom="w"))
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "Not saved: fix the keys marked below." in page
    assert "Shift+R begins an AU code" in page
    assert "w is already the key for: set apex at the frame shown" in page
    assert 'value="R"' in page  # what the coder typed stays in the field
    assert not CoderPreferences.objects.filter(coder=coder).exclude(key_overrides={}).exists()

    client.post(reverse("profile"), typed_keys(mark_onset="b"))
    client.post(reverse("profile"), {"action": "keys-reset"})
    assert CoderPreferences.objects.get(coder=coder).key_overrides == {}


# Saved before accept_au took Shift+G as its default, when no action had that key.
SAVED_BEFORE_ACCEPT_AU = {"toggle_proposals": ["G"]}


def test_a_key_saved_before_a_default_took_it_runs_one_action_and_the_profile_says_why(
    client, coder
):
    CoderPreferences.objects.create(coder=coder, key_overrides=SAVED_BEFORE_ACCEPT_AU)
    client.force_login(coder)
    clip = ClipFactory()
    propose(clip, model_version(), interval=(52, 64), action_units={"AU12": 0.9})
    keys = {entry["action"]: entry["keys"] for entry in workbench_config(client, clip)["keys"]}
    # As when a coder types a taken key, the action the coder changed is the one refused: the
    # default keeps Shift+G, the coder's action its standard key until they change it.
    assert [action for action, bound in keys.items() if "G" in bound] == ["accept_au"]
    assert keys["toggle_proposals"] == ["P"]

    page = client.get(reverse("profile")).content.decode()
    assert "use their standard keys until you change theirs" in page
    field = re.search(r'id="keys-toggle_proposals".*?</td>', page, re.S).group(0)
    assert 'value="G"' in field  # what the coder saved, to change
    assert (
        "Shift+G is already the key for: add the likeliest AU the model proposes that you have"
        " not coded (undo with u)." in field
    )
    assert client.post(reverse("profile"), typed_keys(toggle_proposals="G")).status_code == 400
    client.post(reverse("profile"), typed_keys(toggle_proposals="Y"))
    assert CoderPreferences.objects.get(coder=coder).key_overrides == {"toggle_proposals": ["Y"]}
    assert "use their standard keys" not in client.get(reverse("profile")).content.decode()


def test_an_override_set_aside_gives_back_a_key_another_override_took_and_that_one_yields():
    # The coder moved mark_onset to Shift+G and gave its q to zoom; with mark_onset back on q,
    # zoom's q clashes in turn and falls back to z.
    saved = {"mark_onset": ["G"], "zoom": ["q"]}
    keys = {entry["action"]: entry["keys"] for entry in keymap.key_map(overrides=saved)}
    assert keys["accept_au"] == ["G"] and keys["mark_onset"] == ["q"] and keys["zoom"] == ["z"]
    bound = [key for entry in keymap.key_map(overrides=saved) for key in entry["keys"]]
    assert len(bound) == len(set(bound))
