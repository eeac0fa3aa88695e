"""FACS action-unit codes as coders type them: ``4``, ``R12B``, ``L14A``, ``AU12``.

An AU code is the AU number, an optional laterality prefix and an optional intensity suffix
(A = trace .. E = maximum). Composite strings join codes with ``+`` (``4+L10``, ``R12 + R15``).
"""

import re
from dataclasses import dataclass

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
LATERALITIES = ("L", "R")
INTENSITIES = ("A", "B", "C", "D", "E")

_CODE = re.compile(
    r"^\s*(?P<side>[LR])?\s*(?:AU)?\s*(?P<number>\d{1,2})\s*(?P<intensity>[A-E])?\s*$"
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
            raise AUCodeError(f"laterality must be L, R or empty, not {self.laterality!r}")
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


def parse_au_string(text: str) -> list[AUCode]:
    """Parse a ``+``-joined list as found in CASME II and SAMM sheets; empty means none."""
    parts = [part for part in re.split(r"[+,]", text or "") if part.strip()]
    return [parse_au_code(part) for part in parts]


def format_au_string(codes: list[AUCode]) -> str:
    return "+".join(str(code) for code in codes)
