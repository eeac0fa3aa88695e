"""5-point similarity alignment to the ArcFace template.

Micro-expressions are movements of a few pixels, so the alignment must not move on its own:
compute the transform ONCE, from the onset frame's landmarks, and warp every frame of the clip
with that same transform. Re-estimating it per frame would add landmark jitter larger than the
expression itself.
"""

import cv2
import numpy as np

# ArcFace / InsightFace reference points for a 112x112 crop, in the landmark order of
# `mlcore.faces.detector` (image-left eye first).
ARCFACE_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def template_landmarks(size: int) -> np.ndarray:
    """The 5 template points for a ``size`` x ``size`` crop (the 112 template, scaled)."""
    if size <= 0:
        raise ValueError(f"crop size must be positive, got {size}")
    return ARCFACE_TEMPLATE_112 * (size / 112.0)


def estimate_similarity(src_points: np.ndarray, dst_points: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping src onto dst.

    Umeyama's closed form (1991), without reflection: every point counts, unlike a RANSAC fit
    that may drop one of only five. Returns the 2x3 matrix for `cv2.warpAffine`.
    """
    src = np.asarray(src_points, dtype=np.float64)
    dst = np.asarray(dst_points, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(
            f"need two matching Nx2 point sets (N >= 2), got {src.shape} and {dst.shape}"
        )
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_centred, dst_centred = src - src_mean, dst - dst_mean
    src_variance = (src_centred**2).sum() / len(src)
    if src_variance <= 1e-12:
        raise ValueError("source points coincide: no similarity transform fits them")
    covariance = dst_centred.T @ src_centred / len(src)
    u, singular_values, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(singular_values) @ sign) / src_variance
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def alignment_transform(landmarks: np.ndarray, size: int) -> np.ndarray:
    """The 2x3 transform taking a face's 5 landmarks onto the template of a ``size`` crop."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    assert landmarks.shape == (5, 2), f"expected 5x2 landmarks, got {landmarks.shape}"
    return estimate_similarity(landmarks, template_landmarks(size))


def align_face(image: np.ndarray, transform: np.ndarray, size: int) -> np.ndarray:
    """Warp ``image`` with ``transform`` (2x3) into a ``size`` x ``size`` crop.

    Pixels from outside the image are black, the ArcFace convention; they sit still from frame
    to frame, so they add no motion.
    """
    transform = np.asarray(transform, dtype=np.float64)
    assert transform.shape == (2, 3), f"expected a 2x3 transform, got {transform.shape}"
    return cv2.warpAffine(
        image,
        transform,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
