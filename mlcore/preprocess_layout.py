"""The names in the preprocessing layout (`mlcore.preprocess` writes it, the platform serves
it), kept apart from the writer so that reading the layout needs neither OpenCV nor torch."""

META_NAME = "meta.json"
FRAMES_DIR = "frames"
ALIGNED_DIR = "aligned"
MOTION_DIR = "motion"


def frame_name(frame: int) -> str:
    return f"{frame:06d}.jpg"
