"""Workbench speed in Debian Chromium over loopback.

Measures, on a 300-frame 640x480 synthetic clip preprocessed for real:
- key press to the new frame painted (p50, p95 over N steps with the arrow key), from the key
  event's timestamp to the start of the animation frame that paints the redrawn canvas;
- navigation to the first steppable frame (the current frame decoded and drawn), and to all
  frames of the visible layer decoded.
Goals (issue 5): p95 step latency <= 16 ms, first steppable frame within 1 s.

Usage: .venv/bin/python benchmarks/workbench.py [--frames 300] [--steps 500] [--out JSON]
"""

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_clip(*, frames: int, work: Path) -> int:
    """A migrated SQLite database with a coder and one preprocessed clip; returns the clip id."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from annotator.corpus import preprocessing
    from annotator.corpus import services as corpus
    from annotator.models import Clip, Dataset, DatasetEmotion, Subject
    from mlcore.labels import DATASET_EMOTIONS, default_mapping
    from mlcore.synth import generate, load_truth

    generate(
        out_dir=work / "synth",
        layout="casme2",
        subjects=1,
        clips_per_subject=1,
        frames=frames,
        seed=1,
    )
    item = load_truth(work / "synth")["clips"][0]
    dataset = Dataset.objects.create(name="bench", source_format="casme2", default_fps=200)
    for name, composite in default_mapping(DATASET_EMOTIONS["casme2"]).items():
        DatasetEmotion.objects.create(dataset=dataset, name=name, composite_class=composite)
    subject = Subject.objects.create(dataset=dataset, code="01")
    clip = Clip.objects.create(
        subject=subject,
        name=item["clip"],
        fps=200,
        source_path=str(work / "synth" / item["frames_dir"]),
    )
    job_run = corpus.clip_preprocess_start(clip=clip, created_by=None)
    preprocessing.clip_preprocess_job(job_run=job_run)
    user = get_user_model().objects.create_user("bench", password=PASSWORD)
    user.groups.add(Group.objects.get(name="coder"))
    return clip.pk


def measure(*, url: str, clip_id: int, steps: int) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/login/")
        page.fill("input[name=username]", "bench")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login/'] button[type=submit]")
        page.wait_for_url(f"{url}/")

        started = time.perf_counter()
        page.goto(f"{url}/clips/{clip_id}/code/", wait_until="commit")
        # A function, not a bare expression: Playwright evaluates an expression with eval,
        # which the site's Content Security Policy (script-src 'self') refuses.
        page.wait_for_function(
            "() => window.mestudioWorkbench && window.mestudioWorkbench.loaded('frame') > 0"
            " && !document.querySelector('figure.active.loading')"
        )
        first_steppable = time.perf_counter() - started
        page.wait_for_function(
            "n => window.mestudioWorkbench.loaded('frame') >= n",
            arg=page.evaluate(
                "JSON.parse(document.getElementById('workbench-config').textContent).frames.length"
            ),
            timeout=120_000,
        )
        all_loaded = time.perf_counter() - started

        page.evaluate("window.mestudioWorkbench.latencies.length = 0")
        frame_count = page.evaluate(
            "JSON.parse(document.getElementById('workbench-config').textContent).frames.length"
        )
        for step in range(steps):
            page.keyboard.press(
                "Home" if step % (frame_count - 1) == frame_count - 2 else "ArrowRight"
            )
        page.wait_for_timeout(100)
        latencies = page.evaluate("window.mestudioWorkbench.latencies.slice()")
        browser.close()
    latencies.sort()
    return {
        "first_steppable_frame_s": round(first_steppable, 3),
        "all_frames_decoded_s": round(all_loaded, 3),
        "steps_measured": len(latencies),
        "step_latency_ms_p50": round(statistics.median(latencies), 2),
        "step_latency_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        "step_latency_ms_max": round(latencies[-1], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/workbench.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mestudio-bench-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="mestudio.settings.local",
        MESTUDIO_VAR_DIR=str(work / "var"),
        DJANGO_DEBUG="true",
    )
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    clip_id = prepare_clip(frames=args.frames, work=work)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/login/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        result = measure(url=url, clip_id=clip_id, steps=args.steps)
    finally:
        server.terminate()
        server.wait(timeout=20)

    result.update(
        clip={"frames": args.frames, "size": "640x480"},
        server="Django runserver (single process) over loopback",
        machine={"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        goals={"step_latency_ms_p95": 16, "first_steppable_frame_s": 1.0},
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
