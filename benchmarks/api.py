"""API latency and throughput under 50 concurrent clients (issue 8).

A real server (gunicorn, threaded workers) on PostgreSQL over loopback; 50 client threads, each a
coder with a token and a keep-alive connection, alternate an annotation save (PATCH with the
revision) and a next-clip request. Two runs:
- paced: each client waits `--think` seconds between requests, as a coder's autosave does;
- saturated: no waiting, to find the throughput ceiling (latency is then mostly queueing).
Goal: p95 under 50 ms with no errors. Writes benchmarks/results/api.json.

Usage: .venv/bin/python benchmarks/api.py [--clients 50] [--seconds 20] [--think 0.5]
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
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432"
DATABASE = "mestudio_bench_api"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        connection.execute(f"CREATE DATABASE {DATABASE}")


def prepare(*, clients: int) -> list[dict]:
    """Migrate, add ready clips and one coder per client with a token and a draft on a clip of
    its own (a draft holds its clip: two coders never get the same clip from next-clip)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from annotator import services
    from annotator.api.tokens import token_create
    from annotator.models import Clip, Dataset, DatasetEmotion, Subject
    from mlcore.labels import DATASET_EMOTIONS, default_mapping

    dataset = Dataset.objects.create(name="bench", source_format="casme2", default_fps=200)
    for name, composite in default_mapping(DATASET_EMOTIONS["casme2"]).items():
        DatasetEmotion.objects.create(dataset=dataset, name=name, composite_class=composite)
    emotion = dataset.emotions.first()
    subject = Subject.objects.create(dataset=dataset, code="01")
    frames = list(range(46, 106))
    clips = [
        Clip.objects.create(
            subject=subject,
            name=f"EP{i:02d}",
            fps=200,
            frame_indices=frames,
            frame_count=len(frames),
            ingest_status=Clip.IngestStatus.READY,
            media_version=1,
            preprocess_meta={"sizes": [224]},
        )
        for i in range(2 * clients)
    ]
    coder_group = Group.objects.get(name="coder")
    users = []
    for i in range(clients):
        user = get_user_model().objects.create_user(f"coder{i}", password="bench-pw-1")
        user.groups.add(coder_group)
        draft = services.annotation_create_draft(clip=clips[i], coder=user)
        users.append(
            {
                "token": token_create(user=user).key,
                "annotation": draft.pk,
                "emotion": emotion.pk,
                "revision": draft.revision,  # each client is the only writer of its draft
            }
        )
    return users


def client_loop(
    *, base: str, user: dict, stop_at: float, think: float, samples: dict, errors: list
) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {user['token']}"
    step = 0
    save_url = f"{base}/api/v1/annotations/{user['annotation']}/"
    while time.monotonic() < stop_at:
        step += 1
        kind = "save" if step % 2 else "next"
        started = time.perf_counter()
        try:
            if kind == "save":
                response = session.patch(
                    save_url,
                    json={
                        "revision": user["revision"],
                        "onset": 50,
                        "apex": 50 + step % 30,
                        "offset": 90,
                        "emotion": user["emotion"],
                        "action_units": [{"au": 12, "laterality": "R", "intensity": "B"}],
                    },
                    timeout=30,
                )
            else:
                response = session.post(f"{base}/api/v1/queue/next/", timeout=30)
        except requests.RequestException as error:
            errors.append(f"{kind}: {error}")
            continue
        elapsed = (time.perf_counter() - started) * 1000.0
        if response.status_code != 200:
            errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
        else:
            samples[kind].append(elapsed)
            if kind == "save":
                user["revision"] = response.json()["revision"]
        if think:
            time.sleep(think)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def run_load(*, base: str, users: list[dict], seconds: float, think: float) -> dict:
    samples: dict[str, list[float]] = {"save": [], "next": []}
    errors: list[str] = []
    stop_at = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=client_loop,
            kwargs={
                "base": base,
                "user": user,
                "stop_at": stop_at,
                "think": think,
                "samples": samples,
                "errors": errors,
            },
        )
        for user in users
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    result = {"clients": len(users), "think_s": think, "seconds": round(wall, 1)}
    for kind, values in samples.items():
        result[kind] = {
            "requests": len(values),
            "p50_ms": round(statistics.median(values), 1) if values else None,
            "p95_ms": round(percentile(values, 0.95), 1) if values else None,
            "throughput_rps": round(len(values) / wall, 1),
        }
    result["total_rps"] = round(sum(len(v) for v in samples.values()) / wall, 1)
    result["errors"] = len(errors)
    result["first_errors"] = sorted(set(errors))[:5]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, default=0.5, help="Paced run's wait per request")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/api.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mestudio-bench-api-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="mestudio.settings.local",
        DJANGO_DEBUG="false",
        DATABASE_URL=f"{PG}/{DATABASE}",
        MESTUDIO_VAR_DIR=str(work / "var"),
    )
    os.environ.clear()
    os.environ.update(env)
    sys.path[:0] = [str(REPO), str(REPO / "platform")]
    create_database()
    users = prepare(clients=args.clients)

    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "mestudio.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--worker-class",
            "gthread",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env | {"PYTHONPATH": f"{REPO}:{REPO / 'platform'}"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                requests.get(f"{base}/api/schema/", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.5)
        run_load(base=base, users=users[:5], seconds=2, think=0)  # warm both workers
        paced = run_load(base=base, users=users, seconds=args.seconds, think=args.think)
        saturated = run_load(base=base, users=users, seconds=args.seconds, think=0)
    finally:
        server.terminate()
        server.wait(timeout=20)

    result = {
        "paced": paced,
        "saturated": saturated,
        "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads, "
        "PostgreSQL over loopback, token auth",
        "load_generator": "Python threads + requests keep-alive sessions on the same machine",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "goal": {"p95_ms": 50, "errors": 0},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
