"""ELAN (.eaf) files of one clip's coding, written and read with pympi-ling.

Tiers: ``Expression`` holds one annotation from onset to the end of the offset frame whose value
is the emotion; ``Apex`` holds the apex frame; each action unit gets a tier ``AU <code>``
(``AU R12``) spanning the expression, valued with the full code including intensity (``R12B``);
an entry of a sheet's AU column that is not a FACS code (``?``, ``ref(7B)``) gets a tier
``AU as written <n>`` valued with its text, so it survives a round trip; ``Notes`` holds free
text. Times are milliseconds from the clip's first frame at the clip's fps, so frame f spans
[(f - first) * 1000 / fps, (f - first + 1) * 1000 / fps). The clip name, fps and first frame
travel as EAF properties, so a file read back needs nothing else.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from pympi.Elan import Eaf, to_string

from mlcore.facs import AUCodeError, AUEntry, UnparsedAU, parse_au_code

EXPRESSION_TIER = "Expression"
APEX_TIER = "Apex"
NOTES_TIER = "Notes"
AU_TIER_PREFIX = "AU "
AS_WRITTEN_TIER_PREFIX = "AU as written "
_PROPERTY_PREFIX = "mestudio:"
_MEDIA_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".avi": "video/x-msvideo"}


class ElanFormatError(ValueError):
    """The EAF file cannot be read as a clip's coding."""


@dataclass(frozen=True, slots=True)
class ElanCoding:
    clip: str
    fps: float
    first_frame: int
    onset: int | None
    apex: int | None
    offset: int | None
    emotion: str
    action_units: tuple[AUEntry, ...] = ()
    notes: str = ""
    # The clip's video file name: the EAF links it, so ELAN opens the video kept beside the file.
    media: str = ""

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError(f"{self.clip}: fps must be positive, got {self.fps}")
        marks = [m for m in (self.onset, self.apex, self.offset) if m is not None]
        if any(mark < self.first_frame for mark in marks):
            raise ValueError(f"{self.clip}: a mark comes before the first frame {self.first_frame}")


def frame_to_ms(frame: int, *, first_frame: int, fps: float) -> int:
    return round((frame - first_frame) * 1000.0 / fps)


def ms_to_frame(ms: int, *, first_frame: int, fps: float) -> int:
    return first_frame + round(ms * fps / 1000.0)


def eaf_text(coding: ElanCoding) -> str:
    """The EAF document (XML text) of ``coding``."""
    eaf = Eaf(author="MEStudio")
    eaf.remove_tier("default")
    for key, value in (
        ("clip", coding.clip),
        ("fps", repr(float(coding.fps))),
        ("first_frame", str(coding.first_frame)),
    ):
        eaf.add_property(_PROPERTY_PREFIX + key, value)
    if coding.media:
        mimetype = _MEDIA_TYPES.get(Path(coding.media).suffix.lower(), "video/*")
        eaf.add_linked_file(coding.media, relpath=f"./{coding.media}", mimetype=mimetype)

    def span(first: int, last: int) -> tuple[int, int]:
        start = frame_to_ms(first, first_frame=coding.first_frame, fps=coding.fps)
        end = frame_to_ms(last + 1, first_frame=coding.first_frame, fps=coding.fps)
        return start, end

    for tier in (EXPRESSION_TIER, APEX_TIER, NOTES_TIER):
        eaf.add_tier(tier)
    has_interval = coding.onset is not None and coding.offset is not None
    if not has_interval and (coding.action_units or coding.notes):
        raise ValueError(f"{coding.clip}: action units and notes need onset and offset marks")
    if has_interval:
        start, end = span(coding.onset, coding.offset)
        eaf.add_annotation(EXPRESSION_TIER, start, end, coding.emotion)
        if coding.notes:
            eaf.add_annotation(NOTES_TIER, start, end, coding.notes)
        as_written = 0
        for code in coding.action_units:
            if isinstance(code, UnparsedAU):
                as_written += 1
                tier = f"{AS_WRITTEN_TIER_PREFIX}{as_written}"
            else:
                tier = f"{AU_TIER_PREFIX}{code.laterality}{code.number}"
            eaf.add_tier(tier)
            eaf.add_annotation(tier, start, end, str(code))
    if coding.apex is not None:
        eaf.add_annotation(APEX_TIER, *span(coding.apex, coding.apex), "apex")
    return to_string(eaf)


def write_eaf(path: Path, coding: ElanCoding) -> Path:
    path = Path(path)
    path.write_text(eaf_text(coding), encoding="utf-8")
    return path


def read_eaf(
    source: Path | bytes, *, fps: float | None = None, first_frame: int | None = None
) -> ElanCoding:
    """Read a coding back. ``fps`` and ``first_frame`` override the file's properties (and are
    needed for EAF files made elsewhere, which lack them)."""
    name = str(source) if isinstance(source, Path) else "the EAF upload"
    try:
        if isinstance(source, bytes):
            # pympi parses file names only.
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "upload.eaf"
                path.write_bytes(source)
                eaf = Eaf(str(path))
        else:
            eaf = Eaf(str(source))
    except Exception as error:  # pympi raises ElementTree, KeyError and ValueError alike
        raise ElanFormatError(f"{name}: not an ELAN .eaf file ({error})") from error
    properties = dict(eaf.get_properties())
    try:
        fps = float(fps if fps is not None else properties[_PROPERTY_PREFIX + "fps"])
        first_frame = int(
            first_frame if first_frame is not None else properties[_PROPERTY_PREFIX + "first_frame"]
        )
    except KeyError:
        raise ElanFormatError(
            f"{name}: no clip fps and first frame in the file; give them to read it"
        ) from None
    tiers = eaf.get_tier_names()

    def annotations(tier: str) -> list[tuple[int, int, str]]:
        if tier not in tiers:
            return []
        return sorted(
            (start, end, value) for start, end, value, *_ in eaf.get_annotation_data_for_tier(tier)
        )

    expression = annotations(EXPRESSION_TIER)
    if len(expression) > 1:
        raise ElanFormatError(
            f"{name}: the {EXPRESSION_TIER} tier has {len(expression)} "
            "annotations; one expression per clip is expected"
        )
    onset = offset = None
    emotion = ""
    if expression:
        start, end, emotion = expression[0]
        onset = ms_to_frame(start, first_frame=first_frame, fps=fps)
        offset = max(onset, ms_to_frame(end, first_frame=first_frame, fps=fps) - 1)
    apexes = annotations(APEX_TIER)
    if len(apexes) > 1:
        raise ElanFormatError(f"{name}: the {APEX_TIER} tier has {len(apexes)} annotations")
    apex = ms_to_frame(apexes[0][0], first_frame=first_frame, fps=fps) if apexes else None
    codes: list[AUEntry] = []
    # "AU as written 2" before "AU as written 10": shorter names first, then by name.
    as_written = sorted(
        (t for t in tiers if t.startswith(AS_WRITTEN_TIER_PREFIX)), key=lambda t: (len(t), t)
    )
    code_tiers = sorted(t for t in tiers if t.startswith(AU_TIER_PREFIX) and t not in as_written)
    for tier in code_tiers:
        for _, _, value in annotations(tier)[:1]:
            text = value.strip() or tier.removeprefix(AU_TIER_PREFIX)
            try:
                codes.append(parse_au_code(text))
            except AUCodeError as error:
                raise ElanFormatError(f"{name}: tier {tier!r}: {error}") from error
    for tier in as_written:
        codes += [
            UnparsedAU(text=value.strip()) for _, _, value in annotations(tier)[:1] if value.strip()
        ]
    notes = " ".join(value for _, _, value in annotations(NOTES_TIER))
    return ElanCoding(
        clip=properties.get(_PROPERTY_PREFIX + "clip", ""),
        fps=fps,
        first_frame=first_frame,
        onset=onset,
        apex=apex,
        offset=offset,
        emotion=emotion.strip(),
        action_units=tuple(codes),
        notes=notes,
    )
