"""`manage.py train`: retrain on a frozen snapshot of the platform's labels, as the training page
does, or activate a model version.

    python manage.py train --dataset "CASME II" [--dataset SAMM] --model frl_dgt \\
        [--protocol loso] [--preset auto] [--warm-start] [--epochs 30]
        [--min-status adjudicated] [--seed 0] [--wait]
    python manage.py train --activate VERSION_ID [--wait]

The job runs on a worker of the `train` (or `infer`) queue; --wait follows its progress and
exits with status 1 when it fails or is cancelled.
"""

import time

from django.core.management.base import CommandError
from django.urls import reverse
from tqdm import tqdm

from annotator.learning import services as learning
from annotator.management.base import ServiceCommand
from annotator.models import Dataset, JobRun, ModelVersion, TrainingRun
from mlcore.models import list_models
from mlcore.presets import AUTO, PRESET_CHOICES

POLL_SECONDS = 1.0


class Command(ServiceCommand):
    help = "Start a training run (or activate a model version); --wait follows it to the end."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dataset",
            action="append",
            default=[],
            metavar="NAME",
            help="a dataset to train on (repeat for several)",
        )
        parser.add_argument("--model", help=f"one of {', '.join(list_models())}")
        parser.add_argument(
            "--protocol", choices=TrainingRun.Protocol.values, default=TrainingRun.Protocol.LOSO
        )
        parser.add_argument(
            "--preset",
            choices=PRESET_CHOICES,
            default=AUTO,
            help="mlcore training preset (auto: cpu on a worker without CUDA, else gpu)",
        )
        parser.add_argument(
            "--warm-start",
            action="store_true",
            help="start from the active model version's weights instead of from scratch",
        )
        parser.add_argument("--epochs", type=int, default=30, help="epochs per fold (at most)")
        parser.add_argument(
            "--min-status",
            choices=TrainingRun.MinStatus.values,
            default=TrainingRun.MinStatus.ADJUDICATED,
            help="train on adjudicated annotations only, or on submitted ones too",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--activate",
            type=int,
            metavar="VERSION_ID",
            help="instead of training: make this model version the one that orders the "
            "coders' queue, and score the unlabelled clips with it",
        )
        parser.add_argument("--wait", action="store_true", help="follow the job until it finishes")

    def handle(self, *args, **options):
        if options["activate"] is not None:
            if options["dataset"] or options["model"]:
                raise CommandError(
                    "--activate starts no training: leave out --dataset and --model."
                )
            job_run = self._activate(version_id=options["activate"])
        else:
            job_run = self._start(options)
        if options["wait"]:
            self._follow(job_run=job_run, show_progress=options["verbosity"] >= 1)

    def _start(self, options) -> JobRun:
        names = options["dataset"]
        if not names:
            raise CommandError("Name at least one --dataset to train on.")
        if not options["model"]:
            raise CommandError(f"Choose a --model: {', '.join(list_models())}.")
        if options["epochs"] < 1:
            raise CommandError("--epochs must be at least 1.")
        datasets = list(Dataset.objects.filter(name__in=names))
        missing = sorted(set(names) - {dataset.name for dataset in datasets})
        if missing:
            known = ", ".join(repr(name) for name in Dataset.objects.values_list("name", flat=True))
            raise CommandError(
                f"No dataset named {', '.join(map(repr, missing))}; known: {known or 'none'}."
            )
        training_run = learning.training_run_start(
            datasets=datasets,
            model_name=options["model"],
            protocol=options["protocol"],
            preset=options["preset"],
            warm_start=options["warm_start"],
            epochs=options["epochs"],
            min_status=options["min_status"],
            seed=options["seed"],
            created_by=None,
        )
        job_run = training_run.latest_job_run
        self.stdout.write(
            f"{training_run} queued as job #{job_run.pk}; follow it on "
            f"{reverse('training-run-detail', args=[training_run.pk])} or with --wait."
        )
        return job_run

    def _activate(self, *, version_id: int) -> JobRun:
        try:
            version = ModelVersion.objects.get(pk=version_id)
        except ModelVersion.DoesNotExist:
            raise CommandError(f"No model version {version_id}.") from None
        job_run = learning.model_version_activate(version=version, activated_by=None)
        self.stdout.write(
            f"{version} is active; scoring the unlabelled clips as job #{job_run.pk}."
        )
        return job_run

    def _follow(self, *, job_run: JobRun, show_progress: bool) -> None:
        with tqdm(
            total=100,
            desc=job_run.get_kind_display(),
            bar_format="{l_bar}{bar}| {elapsed} {postfix}",
            disable=not show_progress,
        ) as bar:
            while True:
                job_run.refresh_from_db()
                bar.update(round(job_run.progress * 100) - bar.n)
                bar.set_postfix_str(job_run.message[:60])
                if job_run.is_finished:
                    break
                time.sleep(POLL_SECONDS)
        if job_run.status != JobRun.Status.SUCCEEDED:
            detail = job_run.error or job_run.message
            raise CommandError(f"{job_run} {job_run.get_status_display().lower()}: {detail}")
        self.stdout.write(f"{job_run}: {job_run.message}")
        if job_run.kind != JobRun.Kind.TRAIN:
            return
        version = ModelVersion.objects.filter(training_run_id=job_run.training_run_id).first()
        if version is not None:
            self.stdout.write(
                f"New model version {version} (id {version.pk}); activate it with "
                f"`manage.py train --activate {version.pk}`."
            )
