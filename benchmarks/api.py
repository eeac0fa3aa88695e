"""API latency and throughput under 50 concurrent clients (issue 8).

A real server (gunicorn, threaded workers) on PostgreSQL over loopback, loaded by wrk (C, one
keep-alive connection per wrk thread) with benchmarks/api_load.lua: each connection is a coder
with a token and a draft of their own, and sends annotation saves (PATCH with the revision it
read, as optimistic locking wants) and next-clip requests. Per load level, two runs one after the
other, each `--warmup` + `--seconds` long:
- mixed: 50 coders each alternate a save and a next-clip request (the overall latency);
- split: two wrk processes side by side, 25 coders only saving and 25 only asking for the next
  clip, so that each endpoint's latency is measured under the same 50-connection load (wrk's
  latency histogram does not tell request kinds apart).
Load levels: paced, each coder waiting `--think` seconds on average (uniformly 50..150 %, so
that the coders do not stay in step) after every answer: the workbench debounces its autosave by
500 ms, so 0.5 s is a coder who keeps editing, and 1 s is still far busier than coding, where a
clip takes minutes; and saturated, no waiting, for the throughput ceiling (latency is then
mostly queueing).
Latency percentiles leave out requests sent in each run's first `--warmup` seconds: wrk sends
every connection's first request at the same instant, a burst of 50 that steady use never has
(with_start_p95_ms / with_start_p99_ms keep wrk's own figures, burst included).
Goal: p95 under 50 ms with no errors. Writes benchmarks/results/api.json.

Usage: .venv/bin/python benchmarks/api.py [--clients 50] [--seconds 20] [--warmup 3]
                                          [--think 0.5 1] [--workers 3] [--threads 2]
"""

import argparse
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_env import REPO, database_recreate, django_environment

DATABASE = "mestudio_bench_api"
LOAD_SCRIPT = REPO / "benchmarks/api_load.lua"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(*, clients: int) -> list[dict]:
    """Migrate, add ready clips and one coder per client with a token and a draft on a clip of
    its own (next-clip then gives each coder their own draft back)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from annotator.accounts.tokens import token_create
    from annotator.coding import services as coding_services
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
        draft = coding_services.clip_claim(clip=clips[i], coder=user)
        users.append(
            {
                "token": token_create(user=user).key,
                "annotation": draft.pk,
                "emotion": emotion.pk,
                "revision": draft.revision,  # each client is the only writer of its draft
            }
        )
    return users


def users_file_write(*, users: list[dict], path: Path) -> None:
    """The coders for api_load.lua, with each draft's current revision: every run leaves the
    drafts some revisions further on. A run's last saves can still be in the server's queue
    when wrk exits, so this waits until the revisions stop moving."""
    from annotator.models import Annotation

    def revisions() -> dict[int, int]:
        drafts = Annotation.objects.filter(pk__in=[u["annotation"] for u in users])
        return dict(drafts.values_list("pk", "revision"))

    current = revisions()
    for _ in range(30):
        time.sleep(1)
        previous, current = current, revisions()
        if current == previous:
            break
    path.write_text(
        "".join(
            f"{u['token']} {u['annotation']} {u['emotion']} {current[u['annotation']]}\n"
            for u in users
        )
    )


def wrk_start(
    *,
    base: str,
    users_path: Path,
    first: int,
    clients: int,
    mix: str,
    think: float,
    seconds: float,
    warmup: float,
    out: Path,
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            "wrk",
            "--threads",
            str(clients),
            "--connections",
            str(clients),
            "--duration",
            f"{seconds + warmup:g}s",
            "--timeout",
            "30s",
            "--script",
            str(LOAD_SCRIPT),
            base,
        ],
        env=os.environ
        | {
            "BENCH_USERS": str(users_path),
            "BENCH_FIRST": str(first),
            "BENCH_MIX": mix,
            "BENCH_THINK_MS": str(round(think * 1000)),
            "BENCH_WARMUP_MS": str(round(warmup * 1000)),
            "BENCH_OUT": str(out),
        },
        stdout=subprocess.DEVNULL,
    )


def summarize(raw: dict) -> dict:
    seconds = raw["duration_us"] / 1e6
    latency, with_start = raw["latency_us"], raw["latency_with_start_us"]
    socket_errors = sum(raw["socket_errors"].values())
    return {
        "requests": raw["requests"],
        "measured": latency["samples"],
        "p50_ms": round(latency["p50"] / 1000, 1),
        "p95_ms": round(latency["p95"] / 1000, 1),
        "p99_ms": round(latency["p99"] / 1000, 1),
        "max_ms": round(latency["max"] / 1000, 1),
        # wrk's own figures: every request, the start burst included.
        "with_start_p95_ms": round(with_start["p95"] / 1000, 1),
        "with_start_p99_ms": round(with_start["p99"] / 1000, 1),
        "throughput_rps": round(raw["requests"] / seconds, 1),
        "errors": raw["non_200"] + socket_errors,
        "first_errors": raw["first_errors"]
        + [f"socket {kind}: {n}" for kind, n in raw["socket_errors"].items() if n],
    }


def run_level(
    *, base: str, users: list[dict], work: Path, seconds: float, think: float, warmup: float
) -> dict:
    """One load level: the mixed run, then the split run (see the module docstring)."""
    users_path = work / "users.txt"
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    users_file_write(users=users, path=users_path)
    wrk_start(
        base=base,
        users_path=users_path,
        first=1,
        clients=len(users),
        mix="mixed",
        think=think,
        seconds=seconds,
        warmup=warmup,
        out=work / "mixed.json",
    ).wait()
    mixed = summarize(json.loads((work / "mixed.json").read_text()))

    users_file_write(users=users, path=users_path)
    half = len(users) // 2
    runs = {
        "save": wrk_start(
            base=base,
            users_path=users_path,
            first=1,
            clients=half,
            mix="save",
            think=think,
            seconds=seconds,
            warmup=warmup,
            out=work / "save.json",
        ),
        "next": wrk_start(
            base=base,
            users_path=users_path,
            first=half + 1,
            clients=len(users) - half,
            mix="next",
            think=think,
            seconds=seconds,
            warmup=warmup,
            out=work / "next.json",
        ),
    }
    for process in runs.values():
        process.wait()
    split = {kind: summarize(json.loads((work / f"{kind}.json").read_text())) for kind in runs}
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
        cpu_before.ru_utime + cpu_before.ru_stime
    )
    errors = mixed["errors"] + sum(r["errors"] for r in split.values())
    first_errors = mixed["first_errors"] + [e for r in split.values() for e in r["first_errors"]]
    return {
        "clients": len(users),
        "think_s": think,
        "seconds": seconds,
        "mixed": mixed,
        "save": split["save"],
        "next": split["next"],
        "total_rps": mixed["throughput_rps"],
        "errors": errors,
        "first_errors": first_errors[:5],
        # Both runs: how much of the machine the load generator itself took.
        "load_generator_cpu_percent_of_one_core": round(100 * wrk_cpu / (2 * seconds), 1),
    }


def server_wait(base: str) -> None:
    for _ in range(120):
        try:
            # The log-in page: anonymous, unlike the API's schema.
            urllib.request.urlopen(f"{base}/login/", timeout=2).close()
            return
        except OSError:  # refused while starting, or timed out
            time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer at {base}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured, after the warm-up")
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="seconds at the start of each run left out of the latency percentiles",
    )
    parser.add_argument(
        "--think", type=float, nargs="+", default=[0.5, 1.0], help="Paced runs' wait per request"
    )
    # On 2 cores, 3 workers x 2 threads carried more than 2 x 8 (GIL contention) in short trials.
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--worker-class", default="gthread", help="gthread, or sync as docker/Dockerfile runs"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/api.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mestudio-bench-api-"))
    env = django_environment(work=work, database=DATABASE)
    database_recreate(DATABASE)
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
            args.worker_class,
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env | {"PYTHONPATH": f"{REPO}:{REPO / 'platform'}"},
    )
    base = f"http://127.0.0.1:{port}"
    result = {}
    try:
        server_wait(base)
        # Warm both workers (imports, connections) before anything is measured.
        run_level(base=base, users=users[:10], work=work, seconds=2, think=0, warmup=0)
        for think in args.think:
            key = "paced" if think == args.think[0] else f"paced_{think:g}s"
            result[key] = run_level(
                base=base,
                users=users,
                work=work,
                seconds=args.seconds,
                think=think,
                warmup=args.warmup,
            )
        result["saturated"] = run_level(
            base=base, users=users, work=work, seconds=args.seconds, think=0, warmup=args.warmup
        )
    finally:
        server.terminate()
        server.wait(timeout=20)

    result |= {
        "server": f"gunicorn {args.worker_class}, {args.workers} workers x {args.threads} threads, "
        "PostgreSQL over loopback, token auth",
        "load_generator": f"wrk 4, C, {args.clients} connections (one per wrk thread), Lua "
        "(benchmarks/api_load.lua), on the same machine",
        "method": "per level: a mixed run (every coder alternates save and next-clip), then a "
        "split run (half the coders only save, half only ask for the next clip, side by side) "
        "for per-endpoint latency; think time is counted from each answer and drawn uniformly from "
        "50..150 % of think_s",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "goal": {"p95_ms": 50, "errors": 0},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
