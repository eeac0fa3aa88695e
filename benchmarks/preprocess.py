"""Preprocessing throughput: frames/s of `preprocess_clip` per face back end and input kind.

    python benchmarks/preprocess.py [--out benchmarks/results/preprocess.json]

The clip imitates CASME II: 640x480 at 200 fps, 150 frames, the face (skimage's astronaut)
drifting by a few pixels. Each run covers read + detect (once, on the onset frame) + align to
every size + JPEG writes of frames, crops and motion heat maps (Farneback vs the onset).
RetinaFace runs on weights of a randomly initialised network that the script saves: its
detections are meaningless, its timing is real. TV-L1 is timed separately per frame pair.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data

from mlcore.faces.align import align_face, alignment_transform
from mlcore.faces.detector import FaceDetector
from mlcore.faces.haar import HaarFaceDetector
from mlcore.faces.retinaface import RetinaFaceDetector, build_retinaface_network
from mlcore.motion import tvl1_flow
from mlcore.preprocess import preprocess_clip

ROOT = Path(__file__).resolve().parents[1]

WIDTH, HEIGHT, FPS = 640, 480, 200.0


def clip_frames(count: int) -> list[np.ndarray]:
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    frames = []
    for index in range(count):
        shift = round(3 * np.sin(index / 12))
        canvas = np.full((HEIGHT, WIDTH, 3), 170, dtype=np.uint8)
        left = (WIDTH - 512) // 2 + shift
        canvas[:, left : left + 512] = face[16 : 16 + HEIGHT]
        frames.append(canvas)
    return frames


def write_inputs(folder: Path, frames: list[np.ndarray]) -> dict[str, Path]:
    jpegs = folder / "casme_style_jpg"
    jpegs.mkdir()
    for number, frame in enumerate(frames, start=1):
        cv2.imwrite(str(jpegs / f"img{number}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    video = folder / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return {"jpg_folder": jpegs, "mp4v_video": video}


def time_preprocess(
    *, source: Path, out_dir: Path, detector: FaceDetector, repeats: int
) -> dict[str, object]:
    runs = []
    for _ in range(repeats):
        cpu_started = time.process_time()
        result = preprocess_clip(source=source, out_dir=out_dir, detector=detector)
        runs.append((result.seconds, time.process_time() - cpu_started))
    frames = len(result.frame_indices)
    onset = cv2.imread(str(out_dir / "frames" / f"{result.onset_frame:06d}.jpg"))
    started = time.perf_counter()
    detector.detect(onset)
    detect_seconds = time.perf_counter() - started
    seconds = [wall for wall, _ in runs]
    return {
        "frames": frames,
        "runs_seconds": [round(value, 3) for value in seconds],
        "frames_per_second_median": round(frames / statistics.median(seconds), 1),
        "frames_per_second_best": round(frames / min(seconds), 1),
        "cpu_ms_per_frame_median": round(1000 * statistics.median(c for _, c in runs) / frames, 2),
        "detect_seconds_once": round(detect_seconds, 3),
    }


def time_tvl1(frames: list[np.ndarray], *, sizes: tuple[int, ...], pairs: int) -> dict[str, float]:
    (face,) = HaarFaceDetector().detect(frames[0])[:1]
    timings = {}
    for size in sizes:
        transform = alignment_transform(face.landmarks, size)
        onset = align_face(frames[0], transform, size)
        seconds = []
        for index in range(1, pairs + 1):
            other = align_face(frames[index * 5], transform, size)
            started = time.perf_counter()
            tvl1_flow(onset, other)
            seconds.append(time.perf_counter() - started)
        timings[str(size)] = round(statistics.median(seconds), 4)
    return timings


def cpu_model() -> str:
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor()
    for line in output.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/preprocess.json")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tvl1-pairs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    frames = clip_frames(args.frames)
    results: dict[str, object] = {
        "machine": {
            "cpu": cpu_model(),
            "cpus_visible": os.cpu_count(),
            "load_average_1min_at_start": round(os.getloadavg()[0], 2),
            "opencv": cv2.__version__,
            "torch": torch.__version__,
            "device": "cuda" if torch.cuda.is_available() else "cpu",
        },
        "clip": {"width": WIDTH, "height": HEIGHT, "fps": FPS, "frames": args.frames},
        "preprocess": {},
    }
    with tempfile.TemporaryDirectory(prefix="mlcore-bench-") as scratch:
        scratch_dir = Path(scratch)
        inputs = write_inputs(scratch_dir, frames)
        weights = scratch_dir / "retinaface_random.pth"
        torch.manual_seed(0)
        torch.save(build_retinaface_network().state_dict(), weights)
        detectors: dict[str, FaceDetector] = {
            "haar": HaarFaceDetector(),
            # Threshold 0: random weights score near chance, and a detection must exist.
            "retinaface_random_weights_timing_only": RetinaFaceDetector(
                weights_path=weights, score_threshold=0.0
            ),
        }
        for backend, detector in detectors.items():
            for input_name, source in inputs.items():
                key = f"{backend}/{input_name}"
                print(f"timing {key} ...", flush=True)
                results["preprocess"][key] = time_preprocess(
                    source=source,
                    out_dir=scratch_dir / "out" / key,
                    detector=detector,
                    repeats=args.repeats,
                )
                print(json.dumps(results["preprocess"][key]), flush=True)
    results["tvl1_seconds_per_pair"] = time_tvl1(frames, sizes=(112, 224), pairs=args.tvl1_pairs)
    results["machine"]["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
