"""FACS action-unit codes as coders type them: ``4``, ``R12B``, ``L14A``, ``AU12``, ``T18``.

An AU code is the AU number, an optional prefix saying where on the face it shows and an
optional intensity suffix (A = trace .. E = maximum). Composite strings join codes with ``+``
(``4+L10``, ``R12 + R15``).

Prefixes as the published sheets write them (SAMM uses all five of the first list): ``L`` left,
``R`` right, ``T`` top and ``B`` bottom (upper or lower lip or face half), ``A`` asymmetric
(both sides, one stronger), ``U`` unilateral with the side not recorded. These are the symmetry
codes FACS coding practice uses (PyAFAR's AU documentation lists Right, Left, Top, Bottom,
Asymmetric; the design notes name U). ``A12`` is therefore AU 12 asymmetric, and ``A12B`` AU 12
asymmetric at intensity B: a letter before the number is a prefix, after it an intensity.

Anything else a sheet writes in the AU column is not a FACS code: CASME II's ``?``, SAMM's
``(R6 or R12)`` and ``L12 or L14`` (read as a choice between two codes the coder left open:
FACS itself has no "either" code) and ``ref(7B)`` (no definition found in the datasets' papers
or the FACS material searched). `parse_au_entries` keeps such parts verbatim as `UnparsedAU`,
so they are shown, flagged in the import report, and written back unchanged, never dropped or
guessed at.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# FACS 2002: main codes (AU 3 and AU 40 do not exist), head and eye positions.
AU_NAMES: dict[int, str] = {
    1: "Inner brow raiser",
    2: "Outer brow raiser",
    4: "Brow lowerer",
    5: "Upper lid raiser",
    6: "Cheek raiser",
    7: "Lid tightener",
    8: "Lips toward each other",
    9: "Nose wrinkler",
    10: "Upper lip raiser",
    11: "Nasolabial deepener",
    12: "Lip corner puller",
    13: "Sharp lip puller",
    14: "Dimpler",
    15: "Lip corner depressor",
    16: "Lower lip depressor",
    17: "Chin raiser",
    18: "Lip pucker",
    19: "Tongue show",
    20: "Lip stretcher",
    21: "Neck tightener",
    22: "Lip funneler",
    23: "Lip tightener",
    24: "Lip presser",
    25: "Lips part",
    26: "Jaw drop",
    27: "Mouth stretch",
    28: "Lip suck",
    29: "Jaw thrust",
    30: "Jaw sideways",
    31: "Jaw clencher",
    32: "Lip bite",
    33: "Cheek blow",
    34: "Cheek puff",
    35: "Cheek suck",
    36: "Tongue bulge",
    37: "Lip wipe",
    38: "Nostril dilator",
    39: "Nostril compressor",
    41: "Lid droop",
    42: "Slit",
    43: "Eyes closed",
    44: "Squint",
    45: "Blink",
    46: "Wink",
    51: "Head turn left",
    52: "Head turn right",
    53: "Head up",
    54: "Head down",
    55: "Head tilt left",
    56: "Head tilt right",
    57: "Head forward",
    58: "Head back",
    61: "Eyes turn left",
    62: "Eyes turn right",
    63: "Eyes up",
    64: "Eyes down",
}
LATERALITIES = ("L", "R", "T", "B", "A", "U")
LATERALITY_NAMES = {
    "L": "left",
    "R": "right",
    "T": "top",
    "B": "bottom",
    "A": "asymmetric",
    "U": "unilateral",
}
INTENSITIES = ("A", "B", "C", "D", "E")

_CODE = re.compile(
    r"^\s*(?P<side>[LRTBAU])?\s*(?:AU)?\s*(?P<number>\d{1,2})\s*(?P<intensity>[A-E])?\s*$"
)


class AUCodeError(ValueError):
    """A string that is not a FACS action-unit code."""


@dataclass(frozen=True, slots=True)
class AUCode:
    number: int
    laterality: str = ""
    intensity: str = ""

    def __post_init__(self) -> None:
        if self.number not in AU_NAMES:
            raise AUCodeError(f"AU{self.number} is not in the FACS list")
        if self.laterality not in ("", *LATERALITIES):
            raise AUCodeError(
                f"laterality must be one of {', '.join(LATERALITIES)} or empty, "
                f"not {self.laterality!r}"
            )
        if self.intensity not in ("", *INTENSITIES):
            raise AUCodeError(f"intensity must be one of A..E or empty, not {self.intensity!r}")

    def __str__(self) -> str:
        return f"{self.laterality}{self.number}{self.intensity}"

    def as_dict(self) -> dict[str, object]:
        return {"au": self.number, "laterality": self.laterality, "intensity": self.intensity}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> "AUCode":
        return cls(
            number=int(data["au"]),
            laterality=str(data.get("laterality") or ""),
            intensity=str(data.get("intensity") or ""),
        )


def parse_au_code(text: str) -> AUCode:
    """Parse one code (``R12B``); raises :class:`AUCodeError` with the offending text."""
    match = _CODE.match(text.upper())
    if match is None:
        raise AUCodeError(f"{text!r} is not an AU code (expected e.g. 4, R12B, L14A)")
    return AUCode(
        number=int(match["number"]),
        laterality=match["side"] or "",
        intensity=match["intensity"] or "",
    )


@dataclass(frozen=True, slots=True)
class UnparsedAU:
    """A part of a sheet's AU column that is not a FACS code, kept exactly as written."""

    text: str

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise AUCodeError("an unparsed AU entry needs its text")

    def __str__(self) -> str:
        return self.text

    def as_dict(self) -> dict[str, object]:
        return {"verbatim": self.text}


AUEntry = AUCode | UnparsedAU


def au_entry_from_dict(data: dict[str, object]) -> AUEntry:
    """The stored form of either kind of entry (`AUCode.as_dict` or `UnparsedAU.as_dict`)."""
    if "verbatim" in data:
        return UnparsedAU(text=str(data["verbatim"]))
    return AUCode.from_dict(data)


def split_au_string(text: str) -> list[str]:
    """The parts of a ``+``- or comma-joined AU column; a separator inside brackets belongs to
    its part (``(R6+R12)`` stays whole)."""
    parts, current, depth = [], [], 0
    for char in text or "":
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char in "+," and depth <= 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def parse_au_string(text: str) -> list[AUCode]:
    """Parse a ``+``-joined list as coders type it; raises AUCodeError on any part that is not
    a code. Empty means none."""
    return [parse_au_code(part) for part in split_au_string(text)]


def parse_au_entries(text: str) -> tuple[list[AUEntry], list[str]]:
    """A published sheet's AU column: every part in order, codes parsed and anything else (or
    a code repeated for the same side) kept as `UnparsedAU`; the second list names those."""
    entries: list[AUEntry] = []
    flagged: list[str] = []
    seen: set[tuple[int, str]] = set()
    for part in split_au_string(text):
        try:
            code = parse_au_code(part)
        except AUCodeError:
            code = None
        if code is None or (code.number, code.laterality) in seen:
            entries.append(UnparsedAU(text=part))
            flagged.append(part)
            continue
        seen.add((code.number, code.laterality))
        entries.append(code)
    return entries, flagged


def parse_au_string_keeping(text: str, *, as_written: Iterable[UnparsedAU]) -> list[AUEntry]:
    """`parse_au_string`, where a part equal to one of ``as_written`` (the non-codes a sheet
    stored on the annotation being edited) stays as written: a coder editing an imported
    annotation keeps them, but cannot type new ones."""
    kept = {entry.text: entry for entry in as_written}
    return [kept.get(part) or parse_au_code(part) for part in split_au_string(text)]


def format_au_string(codes: list[AUEntry]) -> str:
    return "+".join(str(code) for code in codes)


# The AUs a model's AU head predicts, in output order: every AU the synthetic generator draws
# (`mlcore.synth.expressions.AU_MOTIONS`) and the AUs CASME II and SAMM code often enough to
# learn (20 and 23-25 besides). Changing it changes the head's shape, so old checkpoints with a
# head would no longer load.
AU_HEAD_UNITS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 26)


def au_targets(aus: str) -> tuple[np.ndarray, bool]:
    """A clip's AU column as the head's multi-hot target over `AU_HEAD_UNITS`, and whether it
    is an AU label at all.

    Laterality and intensity are ignored (``R12B`` counts as AU 12); AUs outside the list are
    dropped, so a clip coded only ``45`` is a label that none of the head's AUs shows. A column
    that is empty or holds no parsable code (CASME II's ``?``) is not a label: the target is
    all zero and the flag False, so that clip does not teach "no AU".
    """
    entries, _ = parse_au_entries(aus)
    numbers = {entry.number for entry in entries if isinstance(entry, AUCode)}
    target = np.array([number in numbers for number in AU_HEAD_UNITS], dtype=np.float32)
    return target, bool(numbers)
