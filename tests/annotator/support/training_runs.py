"""Training runs that really trained, in seconds: the run is started as the training page starts
it, its snapshot is the mlcore tests' tiny blob composite (frozen before the first attempt, as
that attempt would have frozen the exported labels), and the attempt runs in this process."""

from collections import Counter
from dataclasses import replace

from django.utils import timezone

from annotator import media
from annotator.learning import runs
from annotator.learning import services as learning
from annotator.models import JobRun, TrainingRun
from annotator.tasks import _run_job
from mlcore.composite import write_manifest
from tests.mlcore.training_fixtures import make_blob_composite

CLASS_NAMES = ["negative", "positive", "surprise"]
BLOB_SUBJECTS = {"casme2": 2, "samm": 1}


def training_run_frozen(
    *,
    datasets,
    created_by,
    epochs: int = 2,
    model_name: str = "flow_linear",
    au_coded: dict[int, str] | None = None,
    **start,
) -> TrainingRun:
    """A run started as the page starts one (``start``: more of the service's options), its
    snapshot frozen; its attempt is still queued. ``au_coded`` (class label to AU code) codes
    the frozen clips' AUs by their class, so that FRL-DGT trains its AU head; without it the
    clips carry no AU coding."""
    training_run = learning.training_run_start(
        datasets=datasets, model_name=model_name, epochs=epochs, created_by=created_by, **start
    )
    snapshot_dir = media.training_root(training_run=training_run) / "snapshot"
    samples = make_blob_composite(snapshot_dir, subjects=BLOB_SUBJECTS, clips_per_class=1)
    if au_coded:
        samples = [replace(sample, aus=au_coded[sample.label]) for sample in samples]
        write_manifest(snapshot_dir, samples)
    per_dataset: dict[str, Counter] = {}
    for sample in samples:
        per_dataset.setdefault(sample.dataset, Counter())[CLASS_NAMES[sample.label]] += 1
    TrainingRun.objects.filter(pk=training_run.pk).update(
        snapshot_at=timezone.now(),
        snapshot={
            "clips": len(samples),
            "subjects": len({sample.subject_key for sample in samples}),
            "counts": {
                "per_class": dict(Counter(CLASS_NAMES[sample.label] for sample in samples)),
                "per_dataset": {key: dict(counts) for key, counts in per_dataset.items()},
            },
            "left_out": [],
        },
    )
    return TrainingRun.objects.get(pk=training_run.pk)


def training_run_trained(*, datasets, created_by, epochs: int = 2, **start) -> TrainingRun:
    """A frozen run whose attempt a worker's task ran to the end, here in this process."""
    training_run = training_run_frozen(
        datasets=datasets, created_by=created_by, epochs=epochs, **start
    )
    job_run = training_run.job_runs.get()
    _run_job(job_run.pk, runs.training_run_job)
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.SUCCEEDED, job_run.error
    return TrainingRun.objects.get(pk=training_run.pk)


def start_form(**overrides) -> dict[str, str]:
    """The training page's start form as an admin fills it in (a small model, three epochs)."""
    return {
        "model_name": "flow_linear",
        "protocol": "loso",
        "preset": "auto",
        "epochs": "3",
        "min_status": "adjudicated",
        "seed": "7",
        **overrides,
    }
