"""The active-learning loop's speed on PostgreSQL (issue 7).

- retrain to proposals ready: a synthetic CASME II-style set of `--clips` clips (a third
  adjudicated, the rest unlabelled) is imported and really preprocessed (setup, not timed); then
  timed: a training run of the tiny FRL-DGT on CPU (snapshot, LOSO, final model), activating the
  version, and scoring every unlabelled clip;
- proposals per second: `--proposal-clips` unlabelled clips (short ones) scored by the version;
- next clip: with `--queue-clips` more clips and their proposals in the database, the ranked queue
  (`coding_selectors.clip_queue_ranked`) and the claim a coder's "next clip" makes
  (`coding_queue.coder_next_draft_claim`), p50/p95 over `--calls` calls. Goal: p95 < 50 ms.

Jobs run in this process through their Celery tasks, as a worker runs them (no broker round
trip is timed). It creates and drops its own database. Writes benchmarks/results/loop.json.

Usage: .venv/bin/python benchmarks/loop.py [--clips 300] [--proposal-clips 1000]
    [--queue-clips 10000] [--calls 300] [--epochs 10] [--threads 1]
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_env import REPO, database_drop, database_recreate, django_environment

DATABASE = "mestudio_bench_loop"


def setup_django(work: Path) -> None:
    django_environment(work=work, database=DATABASE)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def seconds_since(started: float) -> float:
    return round(time.perf_counter() - started, 2)


def percentiles_ms(samples: list[float]) -> dict:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "calls": len(samples),
        "p50_ms": round(statistics.median(samples) * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2),
    }


def synthetic_set_import(
    *,
    work: Path,
    user,
    name: str,
    subjects: int,
    clips_per_subject: int,
    frames: int,
    labelled_every: int = 0,
):
    """A synthetic set imported and preprocessed in this process; every `labelled_every`-th
    clip keeps its published label (adjudicated), the others are left unlabelled."""
    from annotator.exchange import imports
    from annotator.models import Annotation, Clip, Dataset
    from benchmarks.import_export import run_queued_preprocessing
    from mlcore.synth import generate

    synth = generate(
        out_dir=work / name,
        layout="casme2",
        subjects=subjects,
        clips_per_subject=clips_per_subject,
        frames=frames,
        size=(160, 120),
    )
    report = imports.dataset_import_run(
        import_format="casme2",
        annotations=synth.annotation_path,
        frames=work / name / "CASME2_RAW",
        user=user,
        dataset_name=name,
    )
    assert run_queued_preprocessing() == synth.clips
    dataset = Dataset.objects.get(pk=report["dataset_id"])
    clips = list(Clip.objects.filter(subject__dataset=dataset).order_by("pk"))
    assert {clip.ingest_status for clip in clips} == {Clip.IngestStatus.READY}
    unlabelled = [
        clip for index, clip in enumerate(clips) if not labelled_every or index % labelled_every
    ]
    Annotation.objects.filter(clip__in=unlabelled).delete()
    return dataset, len(clips), len(unlabelled)


def run_task(task, job_run):
    task.apply(args=[job_run.pk], throw=True)
    job_run.refresh_from_db()
    assert job_run.status == "succeeded", job_run.error
    return job_run


def bench_retrain(*, work: Path, user, args, model_options: dict) -> tuple[dict, object]:
    from annotator import tasks
    from annotator.learning import services as learning
    from annotator.models import JobRun

    subjects = max(3, args.clips // 20)
    started = time.perf_counter()
    dataset, clips, unlabelled = synthetic_set_import(
        work=work,
        user=user,
        name="retrain",
        subjects=subjects,
        clips_per_subject=args.clips // subjects,
        frames=args.frames,
        labelled_every=3,
    )
    setup_seconds = seconds_since(started)

    started = time.perf_counter()
    run = learning.training_run_start(
        datasets=[dataset],
        model_name="frl_dgt",
        model_options=model_options,
        epochs=args.epochs,
        created_by=user,
    )
    training = run_task(tasks.training_run, run.latest_job_run)
    trained = time.perf_counter()
    run.refresh_from_db()
    version = run.model_version
    scoring = run_task(
        tasks.proposals, learning.model_version_activate(version=version, activated_by=user)
    )
    total = seconds_since(started)
    snapshot_seconds = (
        run.snapshot_at - training.started_at
    ).total_seconds()  # from the attempt's start to the frozen snapshot
    assert scoring.result["clips"] == unlabelled
    result = {
        "clips": clips,
        "subjects": subjects,
        "frames_per_clip": args.frames,
        "labelled_clips_in_snapshot": run.snapshot["clips"],
        "unlabelled_clips_scored": unlabelled,
        "setup_import_and_preprocess_seconds_not_timed": setup_seconds,
        "model": "frl_dgt",
        "model_options": model_options,
        "epochs": args.epochs,
        "folds": run.metrics["n_folds"],
        "retrain_to_proposals_ready_seconds": total,
        "of_which_snapshot_seconds": round(snapshot_seconds, 2),
        "of_which_training_run_seconds": round(trained - started, 2),
        "of_which_activation_and_proposals_seconds": round(time.perf_counter() - trained, 2),
        "uf1": run.metrics["pooled"]["full"]["uf1"],
        "uar": run.metrics["pooled"]["full"]["uar"],
    }
    assert JobRun.objects.filter(status="failed").count() == 0
    return result, version


def bench_proposals(*, work: Path, user, args, version) -> dict:
    from annotator import tasks
    from annotator.learning import services as learning

    subjects = max(1, args.proposal_clips // 50)
    started = time.perf_counter()
    _, clips, _ = synthetic_set_import(
        work=work,
        user=user,
        name="pool",
        subjects=subjects,
        clips_per_subject=max(1, args.proposal_clips // subjects),
        frames=8,
    )
    setup_seconds = seconds_since(started)
    started = time.perf_counter()
    scoring = run_task(
        tasks.proposals, learning.model_version_activate(version=version, activated_by=user)
    )
    seconds = time.perf_counter() - started
    scored = scoring.result["clips"]
    return {
        "pool_clips": clips,
        "frames_per_pool_clip": 8,
        "clips_scored": scored,
        "note": "every ready clip without an adjudication is scored: the pool and the "
        "retrain set's unlabelled clips; MC dropout with 20 samples",
        "setup_import_and_preprocess_seconds_not_timed": setup_seconds,
        "seconds": round(seconds, 2),
        "clips_per_second": round(scored / seconds, 1),
    }


def queue_fill(*, args, version, coders: list) -> dict:
    """`--queue-clips` ready clips in 100-clip subjects, each with a proposal of the active
    version; a fifth adjudicated, a tenth submitted by a coder, a few held by others' drafts."""
    from annotator.models import Annotation, Clip, Dataset, Proposal, Subject

    rng = random.Random(0)
    dataset = Dataset.objects.create(name="queue", source_format="casme2", default_fps=200)
    emotion = Dataset.objects.get(name="retrain").emotions.first()
    subjects = Subject.objects.bulk_create(
        Subject(dataset=dataset, code=f"{number:03d}")
        for number in range(max(1, args.queue_clips // 100))
    )
    frames = list(range(46, 106))
    clips = Clip.objects.bulk_create(
        Clip(
            subject=subjects[number % len(subjects)],
            name=f"clip{number:05d}",
            fps=200.0,
            frame_indices=frames,
            frame_count=len(frames),
            ingest_status=Clip.IngestStatus.READY,
            media_version=1,
            preprocess_meta={"sizes": [112]},
        )
        for number in range(args.queue_clips)
    )
    Proposal.objects.bulk_create(
        Proposal(
            clip=clip,
            model_version=version,
            onset=46,
            apex=rng.randint(46, 105),
            apex_confidence=rng.random(),
            probabilities={"negative": 0.4, "positive": 0.3, "surprise": 0.3},
            predicted_class="negative",
            entropy=rng.uniform(0.0, 1.0986),
            margin=rng.random(),
            bald=rng.uniform(0.0, 0.1),
            novelty=rng.random(),
            embedding=[round(rng.gauss(0, 1), 5) for _ in range(32)],
        )
        for clip in clips
    )
    marks = {"onset": 50, "apex": 60, "offset": 90, "emotion": emotion}
    annotations = []
    for number, clip in enumerate(clips):
        if number % 5 == 0:
            annotations.append(
                Annotation(clip=clip, coder=coders[0], status="adjudicated", **marks)
            )
        elif number % 10 == 1:
            annotations.append(
                Annotation(clip=clip, coder=coders[number % 7], status="submitted", **marks)
            )
        elif number % 97 == 3:
            annotations.append(Annotation(clip=clip, coder=coders[number % 7], status="draft"))
    Annotation.objects.bulk_create(annotations)
    return {
        "clips": len(clips),
        "subjects": len(subjects),
        "proposals": len(clips),
        "annotations": len(annotations),
        "clips_in_database": Clip.objects.count(),
    }


def bench_next_clip(*, args, version) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection

    from annotator.coding import queue as coding_queue
    from annotator.coding import selectors as coding_selectors
    from annotator.models import Annotation

    coder_group = Group.objects.get(name="coder")
    coders = []
    for number in range(8):
        coder = get_user_model().objects.create_user(f"coder{number}", password="bench-pw-1")
        coder.groups.add(coder_group)
        coders.append(coder)
    filled = queue_fill(args=args, version=version, coders=coders)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does after the bulk inserts

    coder = coders[-1]  # a coder with no annotations yet
    ranked, claims = [], []
    for _ in range(args.calls):
        started = time.perf_counter()
        queue = coding_selectors.clip_queue_ranked(coder=coder, limit=50)  # as the queue page asks
        ranked.append(time.perf_counter() - started)
        assert queue
        started = time.perf_counter()
        draft = coding_queue.coder_next_draft_claim(coder=coder)
        claims.append(time.perf_counter() - started)
        # The coder codes it and submits (not timed), so the next claim takes a new clip.
        Annotation.objects.filter(pk=draft.pk).update(
            status="submitted", onset=50, apex=60, offset=90
        )
    return {
        "data": filled,
        "calls": args.calls,
        "what": "one coder opens the queue page (clip_queue_ranked, 50 clips), asks for the "
        "next clip (coder_next_draft_claim), codes it and submits (not timed), and again; "
        "proposals are rows with random uncertainties, not scored by a model",
        "clip_queue_ranked": percentiles_ms(ranked),
        "coder_next_draft_claim": percentiles_ms(claims),
        "goal_p95_ms": 50,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=300, help="retrain set, a third labelled")
    parser.add_argument("--frames", type=int, default=12, help="frames per retrain-set clip")
    parser.add_argument("--proposal-clips", type=int, default=1000)
    parser.add_argument("--queue-clips", type=int, default=10000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads; the tiny model gains nothing from more",
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/loop.json")
    sys.path[:0] = [str(REPO)]
    from mlcore.commands.train import add_model_option_argument, parse_model_options

    add_model_option_argument(parser)
    args = parser.parse_args()

    import torch

    from tests.mlcore.training_fixtures import TINY_FRL_DGT

    torch.set_num_threads(args.threads)
    model_options = parse_model_options(args.model_option) or TINY_FRL_DGT
    work = Path(tempfile.mkdtemp(prefix="mestudio-bench-loop-"))
    database_recreate(DATABASE)
    try:
        setup_django(work)
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
        results = {
            "machine": {
                "cpu": platform.processor() or platform.machine(),
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "torch": torch.__version__,
                "torch_threads": args.threads,
                "device": "cpu",
                "database": "postgresql over loopback",
                "load_average_1min_at_start": round(os.getloadavg()[0], 2),
            },
            "arguments": {key: value for key, value in vars(args).items() if key != "out"},
            "how": "services called in this process (jobs through their Celery tasks' apply, "
            "as a worker runs them); no broker round trip or worker start-up is timed",
        }
        results["retrain_to_proposals"], version = bench_retrain(
            work=work, user=user, args=args, model_options=model_options
        )
        print(json.dumps(results["retrain_to_proposals"], indent=2), flush=True)
        results["proposals_throughput"] = bench_proposals(
            work=work, user=user, args=args, version=version
        )
        print(json.dumps(results["proposals_throughput"], indent=2), flush=True)
        results["next_clip"] = bench_next_clip(args=args, version=version)
        print(json.dumps(results["next_clip"], indent=2), flush=True)
        results["machine"]["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    finally:
        database_drop(DATABASE)
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    retrain, proposals = results["retrain_to_proposals"], results["proposals_throughput"]
    claim = results["next_clip"]["coder_next_draft_claim"]
    print(
        f"retrain -> proposals ready: {retrain['retrain_to_proposals_ready_seconds']} s "
        f"({retrain['clips']} clips); proposals: {proposals['clips_per_second']} clips/s; "
        f"next clip p50 {claim['p50_ms']} ms, p95 {claim['p95_ms']} ms -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
