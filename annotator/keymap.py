"""The workbench's keys, defined once: workbench.js dispatches on this table and the help overlay
and the key hints beside the fields are rendered from it.

A key is a KeyboardEvent.key value, so "q" and "Q" (Shift+Q) differ; a named key held with Shift
is written "Shift+ArrowLeft". L, R and the digits begin an AU code (R12B, L14A, 6), so no command
uses them, and an emotion's letter is never a letter some command uses in either case: the hint
"p" beside an emotion must not look like Shift+P.
"""

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
        "action": "toggle_proposals",
        "keys": ["P"],
        "help": "hide / show the model's proposals on every clip",
        "needs_proposal": True,
    },
    {"action": "help", "keys": ["?"], "help": "this help"},
]

_NAMED_KEYS = {"ArrowLeft": "←", "ArrowRight": "→", " ": "Space"}
_TAKEN_LETTERS = {
    key.lower() for entry in WORKBENCH_KEYS for key in entry["keys"] if len(key) == 1
} & set(ascii_lowercase)


def key_label(key: str) -> str:
    """How a key is written for people: Shift+Q for "Q", ← for ArrowLeft."""
    modifier, _, name = key.rpartition("+")
    name = _NAMED_KEYS.get(name, name)
    if len(name) == 1 and name.isupper():
        return f"Shift+{name}"
    return f"{modifier}+{name}" if modifier else name


def emotion_keys(names: list[str]) -> dict[str, str]:
    """One lowercase letter per emotion name: its first free letter, else the first free letter
    of the alphabet; an emotion gets none only when the alphabet runs out."""
    keys: dict[str, str] = {}
    for name in names:
        free = [c for c in name.lower() + ascii_lowercase if c in ascii_lowercase]
        letter = next((c for c in free if c not in _TAKEN_LETTERS and c not in keys.values()), None)
        if letter is not None:
            keys[name] = letter
    return keys


def workbench_keys(*, proposal_available: bool) -> list[dict]:
    """The keys of this workbench: the proposal's keys only where the clip has one."""
    return [e for e in WORKBENCH_KEYS if proposal_available or not e.get("needs_proposal")]


def workbench_help(*, proposal_available: bool) -> list[dict]:
    """The help overlay's rows, with the keys written for people."""
    return [
        {"keys": [key_label(key) for key in entry["keys"]], "help": entry["help"]}
        for entry in workbench_keys(proposal_available=proposal_available)
    ]


def key_labels() -> dict[str, str]:
    """Each action's keys as written for people, for the hints beside the fields."""
    return {e["action"]: " ".join(key_label(key) for key in e["keys"]) for e in WORKBENCH_KEYS}
