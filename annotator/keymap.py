"""The workbench's keys, defined once: workbench.js dispatches on this table and the help overlay
and the key hints beside the fields are rendered from it.

A key is a KeyboardEvent.key value, so "q" and "Q" (Shift+Q) differ; a named key held with Shift
is written "Shift+ArrowLeft". L, R and the digits begin an AU code (R12B, L14A, 6), so no command
uses them, and an emotion's letter is never a letter some command uses in either case: the hint
"p" beside an emotion must not look like Shift+P.

A coder may give any action but AU entry keys of their own (`CoderPreferences.key_overrides`,
set on the profile page); `key_map_check` holds those to the same rules, and the emotion letters
are then chosen among the letters the coder's map leaves free. Keys saved before a newer default
took one of them (accept_au took Shift+G) break those rules too: `key_map` leaves such an
override out, and the profile page shows the coder why.
"""

from collections.abc import Mapping
from string import ascii_lowercase

WORKBENCH_KEYS: list[dict] = [
    {"action": "prev", "keys": ["ArrowLeft"], "help": "previous frame"},
    {"action": "next", "keys": ["ArrowRight"], "help": "next frame"},
    {"action": "back10", "keys": ["Shift+ArrowLeft"], "help": "10 frames back"},
    {"action": "fwd10", "keys": ["Shift+ArrowRight"], "help": "10 frames forward"},
    {"action": "first", "keys": ["Home"], "help": "first frame"},
    {"action": "last", "keys": ["End"], "help": "last frame"},
    {"action": "play", "keys": [" "], "help": "play / pause at the chosen speed"},
    {"action": "slower", "keys": [","], "help": "slower"},
    {"action": "faster", "keys": ["."], "help": "faster"},
    {"action": "loop", "keys": ["o"], "help": "loop over onset..offset"},
    {"action": "mark_onset", "keys": ["q"], "help": "set onset at the frame shown"},
    {"action": "mark_apex", "keys": ["w"], "help": "set apex at the frame shown"},
    {"action": "mark_offset", "keys": ["e"], "help": "set offset at the frame shown"},
    {"action": "jump_onset", "keys": ["Q"], "help": "jump to onset"},
    {"action": "jump_apex", "keys": ["W"], "help": "jump to apex"},
    {"action": "jump_offset", "keys": ["E"], "help": "jump to offset"},
    {
        "action": "au_entry_typed",
        "keys": ["l", "L", "r", "R", *"0123456789"],
        "help": "begin an AU code (R12B, L14A, 6), then Enter; Esc leaves",
    },
    {"action": "au_entry", "keys": ["t"], "help": "go to the AU field"},
    {"action": "undo", "keys": ["u", "Ctrl+z"], "help": "undo"},
    {"action": "view", "keys": ["v"], "help": "next view (raw, aligned, difference, motion, all)"},
    {"action": "zoom", "keys": ["z"], "help": "zoom into the face"},
    {
        "action": "accept_apex",
        "keys": ["A"],
        "help": "accept the model's proposed apex (undo with u)",
        "needs_proposal": True,
    },
    {
        # X: no emotion of the known vocabularies falls back to it, so no emotion key moves.
        "action": "accept_interval",
        "keys": ["X"],
        "help": "accept the model's proposed onset, apex and offset (undo with u)",
        "needs_proposal": True,
    },
    {
        # G: like X, no emotion of the known vocabularies falls back to it.
        "action": "accept_au",
        "keys": ["G"],
        "help": "add the likeliest AU the model proposes that you have not coded (undo with u)",
        "needs_proposal": True,
    },
    {
        "action": "toggle_proposals",
        "keys": ["P"],
        "help": "hide / show the model's proposals on every clip",
        "needs_proposal": True,
    },
    {
        "action": "prev_coder_mark",
        "keys": ["["],
        "help": "jump to the previous coder's mark (review)",
        "needs_lanes": True,
    },
    {
        "action": "next_coder_mark",
        "keys": ["]"],
        "help": "jump to the next coder's mark (review)",
        "needs_lanes": True,
    },
    {"action": "help", "keys": ["?"], "help": "this help"},
]

_NAMED_KEYS = {"ArrowLeft": "←", "ArrowRight": "→", " ": "Space"}
# L, R and the digits begin an AU code as coders type it: that action keeps its keys.
FIXED_ACTIONS = {"au_entry_typed"}
AU_ENTRY_KEYS = frozenset(
    next(e for e in WORKBENCH_KEYS if e["action"] == "au_entry_typed")["keys"]
)
# Keys a coder may bind besides printable characters (Escape and Enter belong to the fields).
BINDABLE_NAMED_KEYS = frozenset(
    {"ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"}
)
KeyMap = list[dict]


def key_map(*, overrides: Mapping[str, list[str]] | None = None) -> KeyMap:
    """The workbench's keys with a coder's own keys for the actions they changed, those the
    rules refuse today left out (the action keeps its standard keys), so no key runs two
    actions. Refused is what `key_map_check` blames: the changed action, never the default."""
    in_force = dict(overrides or {})
    # Setting one aside gives that action its standard keys back, which another of the coder's
    # keys may hold: check again until what is left passes (the defaults alone always do).
    while refused := key_map_check(in_force).keys() & in_force.keys():
        in_force = {action: keys for action, keys in in_force.items() if action not in refused}
    return key_map_as_saved(overrides=in_force)


def key_map_as_saved(*, overrides: Mapping[str, list[str]] | None = None) -> KeyMap:
    """The workbench's keys with every one of the coder's keys in place, as they saved them
    (clashes included): what the profile page shows them to edit."""
    overrides = overrides or {}
    return [
        {**entry, "keys": list(overrides[entry["action"]])}
        if entry["action"] in overrides and entry["action"] not in FIXED_ACTIONS
        else entry
        for entry in WORKBENCH_KEYS
    ]


def _key_problem(key: str) -> str | None:
    modifier, _, name = key.rpartition("+")
    if modifier == "Ctrl" and len(name) == 1 and name in ascii_lowercase:
        return None
    if modifier == "Shift" and name in BINDABLE_NAMED_KEYS:
        return None
    if not modifier and (name in BINDABLE_NAMED_KEYS or (len(name) == 1 and name.isprintable())):
        if name in AU_ENTRY_KEYS:
            return f"{key_label(key)} begins an AU code (L, R and digits are kept for AU entry)"
        return None
    return f"{key!r} is not a key the workbench can bind"


def key_map_check(overrides: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Problems with a coder's keys, by action: unknown or fixed actions, keys the workbench
    cannot bind or that begin an AU code, and a key given to two actions."""
    actions = {entry["action"] for entry in WORKBENCH_KEYS}
    problems: dict[str, list[str]] = {}
    for action, keys in overrides.items():
        if action not in actions:
            problems.setdefault(action, []).append(f"There is no action {action!r}.")
        elif action in FIXED_ACTIONS:
            problems.setdefault(action, []).append("AU entry keeps L, R and the digits.")
        elif not keys:
            problems.setdefault(action, []).append("Give at least one key.")
        else:
            for key in keys:
                if (problem := _key_problem(key)) is not None:
                    problems.setdefault(action, []).append(problem + ".")
    unusable = set(problems)
    owners: dict[str, str] = {}
    usable = {a: k for a, k in overrides.items() if a not in unusable}
    for entry in key_map_as_saved(overrides=usable):
        for key in entry["keys"]:
            first = owners.setdefault(key, entry["action"])
            if first == entry["action"]:
                continue
            # The action the coder changed is the one told; the other is named by what it does.
            culprit, other = (
                (entry["action"], first)
                if entry["action"] in overrides
                else (first, entry["action"])
            )
            problems.setdefault(culprit, []).append(
                f"{key_label(key)} is already the key for: {_HELP[other]}."
            )
    return problems


_HELP = {entry["action"]: entry["help"] for entry in WORKBENCH_KEYS}


def _taken_letters(keys: KeyMap) -> set[str]:
    single = {key.lower() for entry in keys for key in entry["keys"] if len(key) == 1}
    return single & set(ascii_lowercase)


def key_label(key: str) -> str:
    """How a key is written for people: Shift+Q for "Q", ← for ArrowLeft."""
    modifier, _, name = key.rpartition("+")
    name = _NAMED_KEYS.get(name, name)
    if len(name) == 1 and name.isupper():
        return f"Shift+{name}"
    return f"{modifier}+{name}" if modifier else name


def emotion_keys(names: list[str], *, keys: KeyMap = WORKBENCH_KEYS) -> dict[str, str]:
    """One lowercase letter per emotion name: its first free letter, else the first free letter
    of the alphabet; an emotion gets none only when the alphabet runs out."""
    taken = _taken_letters(keys)
    chosen: dict[str, str] = {}
    for name in names:
        free = [c for c in name.lower() + ascii_lowercase if c in ascii_lowercase]
        letter = next((c for c in free if c not in taken and c not in chosen.values()), None)
        if letter is not None:
            chosen[name] = letter
    return chosen


def workbench_keys(
    *, keys: KeyMap = WORKBENCH_KEYS, proposal_available: bool, lanes_available: bool = False
) -> KeyMap:
    """The keys of this frame player: the proposal's keys only where the clip has one, the
    coders' lanes' keys only on the review page, which draws them."""
    return [
        e
        for e in keys
        if (proposal_available or not e.get("needs_proposal"))
        and (lanes_available or not e.get("needs_lanes"))
    ]


def workbench_help(
    *, keys: KeyMap = WORKBENCH_KEYS, proposal_available: bool, lanes_available: bool = False
) -> list[dict]:
    """The help overlay's rows, with the keys written for people."""
    chosen = workbench_keys(
        keys=keys, proposal_available=proposal_available, lanes_available=lanes_available
    )
    return [
        {"keys": [key_label(key) for key in entry["keys"]], "help": entry["help"]}
        for entry in chosen
    ]


def key_labels(*, keys: KeyMap = WORKBENCH_KEYS) -> dict[str, str]:
    """Each action's keys as written for people, for the hints beside the fields."""
    return {e["action"]: " ".join(key_label(key) for key in e["keys"]) for e in keys}


def keys_as_typed(keys: list[str]) -> str:
    """A key list as the profile page's field shows it: KeyboardEvent names, Space for " "."""
    return " ".join("Space" if key == " " else key for key in keys)


def keys_from_typed(text: str) -> list[str]:
    return [" " if part == "Space" else part for part in text.split()]
