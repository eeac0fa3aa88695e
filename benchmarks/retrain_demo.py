"""What a retrain of the demo set costs, end to end, as the training page runs it (issue #16.12).

Setup (not timed): the demo's own data (`annotator.demo.demo_dataset_ensure`: six synthetic
CASME II-style clips over three subjects), really preprocessed, and coded as coders and a reviewer
would leave it: each clip's final (adjudicated) annotation carries its true marks and emotion.

Timed, per seed: the training form's defaults (`TrainingStartForm`: model, protocol, preset
`auto`, epochs) started through `learning.training_run_start`, the service the page calls, then
the attempt run by the worker's Celery task in this process (snapshot, model inputs, LOSO folds,
final model, model version): wall and CPU seconds, and the version's pooled UF1. The broker round
trip is not timed. It creates and drops its own database. Writes
benchmarks/results/retrain_demo.json.

Usage: .venv/bin/python benchmarks/retrain_demo.py [--seeds 0 1 2] [--threads 2]
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_env import REPO, database_drop, database_recreate, django_environment

DATABASE = "mestudio_bench_retrain_demo"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def demo_coded(*, work: Path):
    """The demo dataset, preprocessed, with each clip adjudicated to its synthetic truth."""
    from django.contrib.auth import get_user_model

    from annotator import demo
    from annotator.models import Annotation, Clip
    from benchmarks.import_export import run_queued_preprocessing
    from mlcore.synth import load_truth

    demo.demo_accounts_ensure()
    data_dir = work / "demo-data"
    dataset, _ = demo.demo_dataset_ensure(data_dir=data_dir)
    run_queued_preprocessing()
    reviewer = get_user_model().objects.get(username="reviewer")
    for item in load_truth(data_dir)["clips"]:
        clip = Clip.objects.get(subject__dataset=dataset, name=item["clip"])
        assert clip.ingest_status == Clip.IngestStatus.READY, clip.ingest_error
        Annotation.objects.create(
            clip=clip,
            coder=reviewer,
            status=Annotation.Status.ADJUDICATED,
            onset=item["onset"],
            apex=item["apex"],
            offset=item["offset"],
            emotion=dataset.emotions.get(name=item["emotion"]),
            action_units=item["au_codes"],
        )
    return dataset


def retrain(*, dataset, user, seed: int) -> dict:
    from annotator import tasks
    from annotator.learning import services as learning
    from annotator.learning.forms import TrainingStartForm

    form = TrainingStartForm()
    # What the page submits untouched: each field's initial value, else its first choice.
    defaults = {
        name: field.initial if field.initial is not None else field.choices[0][0]
        for name, field in form.fields.items()
        if name in ("model_name", "protocol", "preset", "epochs")
    }
    wall, cpu = time.perf_counter(), cpu_seconds()
    run = learning.training_run_start(
        datasets=[dataset],
        model_name=defaults["model_name"],
        protocol=defaults["protocol"],
        preset=defaults["preset"],
        epochs=defaults["epochs"],
        seed=seed,
        created_by=user,
    )
    job_run = run.latest_job_run
    tasks.training_run.apply(args=[job_run.pk], throw=True)
    job_run.refresh_from_db()
    assert job_run.status == "succeeded", job_run.error
    run.refresh_from_db()
    full = run.metrics["pooled"]["full"]
    return {
        "seed": seed,
        "wall_s": round(time.perf_counter() - wall, 1),
        "cpu_s": round(cpu_seconds() - cpu, 1),
        "uf1": round(full["uf1"], 3),
        "preset": run.metrics["preset"],
        "model": run.model_name,
        "epochs_asked": run.epochs,
    }


def summary(values: list[float]) -> dict:
    return {
        "mean": round(statistics.mean(values), 1),
        "sd": round(statistics.stdev(values), 1) if len(values) > 1 else 0.0,
        "max": max(values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/retrain_demo.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        database_recreate(DATABASE)
        django_environment(work=work, database=DATABASE)
        import django
        import torch
        from django.core.management import call_command

        torch.set_num_threads(args.threads)
        django.setup()
        call_command("migrate", verbosity=0)
        from django.contrib.auth import get_user_model

        dataset = demo_coded(work=work)
        clips = sum(subject.clips.count() for subject in dataset.subjects.all())
        admin = get_user_model().objects.get(username="admin")
        runs = [retrain(dataset=dataset, user=admin, seed=seed) for seed in args.seeds]
        from django.db import connections

        connections.close_all()
    database_drop(DATABASE)
    report = {
        "what": "demo retrain from the training form's defaults, service + worker task",
        "machine": {
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.cuda.is_available(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "clips": clips,
        "runs": runs,
        "wall_s": summary([r["wall_s"] for r in runs]),
        "cpu_s": summary([r["cpu_s"] for r in runs]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
