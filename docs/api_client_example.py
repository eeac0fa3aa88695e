"""MEStudio API client example: upload a clip, wait until it is preprocessed, list its frames,
and post an annotation.

    python docs/api_client_example.py --url http://localhost:8000 --token KEY \
        --dataset 1 --subject 01 EP02_01f.zip

The token comes from /profile/ (or POST /api/v1/auth/token/ with username and password).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import requests


class ApiError(RuntimeError):
    def __init__(self, response: requests.Response) -> None:
        errors = response.json().get("errors", []) if response.content else []
        details = "; ".join(f"{e['field'] or 'request'}: {e['message']}" for e in errors)
        super().__init__(
            f"{response.request.method} {response.url} -> {response.status_code} {details}"
        )


def call(session: requests.Session, method: str, url: str, **kwargs) -> dict:
    response = session.request(method, url, timeout=60, **kwargs)
    if response.status_code >= 400:
        raise ApiError(response)
    return response.json() if response.content else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="Server, e.g. http://localhost:8000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--dataset", type=int, required=True, help="Dataset id")
    parser.add_argument("--subject", required=True, help="Subject code, e.g. 01")
    parser.add_argument("--timeout", type=float, default=300.0, help="Seconds to wait for ready")
    parser.add_argument("source", type=Path, help="Video (mp4, mov, avi) or zip of frames")
    args = parser.parse_args(argv)

    api = f"{args.url.rstrip('/')}/api/v1"
    session = requests.Session()
    session.headers["Authorization"] = f"Token {args.token}"

    # 1. Upload: multipart, answered 202 with the clip and its preprocessing job.
    with args.source.open("rb") as source:
        uploaded = call(
            session,
            "POST",
            f"{api}/clips/",
            data={"dataset": args.dataset, "subject_code": args.subject},
            files={"source": (args.source.name, source)},
        )
    clip_id = uploaded["clip"]["id"]
    print(f"uploaded clip {clip_id}; job {uploaded['job']['id']} queued", file=sys.stderr)

    # 2. Wait until the worker has preprocessed it, showing the job's progress.
    deadline = time.monotonic() + args.timeout
    while True:
        clip = call(session, "GET", f"{api}/clips/{clip_id}/")
        job = clip["latest_job"]
        print(f"  {clip['ingest_status']}: {job['progress']:.0%} {job['message']}", file=sys.stderr)
        if clip["ingest_status"] == "ready":
            break
        if clip["ingest_status"] == "failed":
            print(f"preprocessing failed: {clip['ingest_error']}", file=sys.stderr)
            return 1
        if time.monotonic() > deadline:
            print(f"clip {clip_id} not ready after {args.timeout:.0f} s", file=sys.stderr)
            return 1
        time.sleep(1.0)

    # 3. Frames: one JPEG URL per frame and layer (raw, aligned crops, motion).
    frames = call(session, "GET", f"{api}/clips/{clip_id}/frames/", params={"layer": "frame"})
    first_jpeg = session.get(frames["layers"][0]["urls"][0], timeout=60)
    first_jpeg.raise_for_status()

    # 4. Annotate: start a draft, then submit marks (source frame numbers), emotion and AUs.
    indices = clip["frame_indices"]
    dataset = call(session, "GET", f"{api}/datasets/{args.dataset}/")
    emotion = next(e for e in dataset["emotions"] if e["composite_class"] != "excluded")
    draft = call(session, "POST", f"{api}/annotations/", json={"clip": clip_id})
    submitted = call(
        session,
        "POST",
        f"{api}/annotations/{draft['id']}/submit/",
        json={
            "revision": draft["revision"],  # a stale revision is refused with 409
            "onset": indices[0],
            "apex": indices[len(indices) // 2],
            "offset": indices[-1],
            "emotion": emotion["id"],
            "action_units": [{"au": 12, "laterality": "R", "intensity": "B"}],
            "notes": "posted by api_client_example.py",
        },
    )
    print(
        json.dumps(
            {
                "clip": clip_id,
                "frames": len(indices),
                "first_frame_bytes": len(first_jpeg.content),
                "annotation": submitted["id"],
                "status": submitted["status"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
