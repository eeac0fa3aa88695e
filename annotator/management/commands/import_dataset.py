"""`manage.py import_dataset`: import a dataset's published labels and frame folders.

    python manage.py import_dataset --format casme2 \\
        --annotations CASME2-coding-20140508.xlsx --frames CASME2_RAW [--dataset "CASME II"]
    python manage.py import_dataset --format smic --frames SMIC/HS
    python manage.py import_dataset --format generic-csv --annotations labels.csv --frames DIR \\
        --fps 30

Prints what was created, updated and left out; --report writes the full report as JSON. New
clips are queued for preprocessing unless --no-preprocess is given.
"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from tqdm import tqdm

from annotator.exchange.imports import dataset_import_run, import_summary
from annotator.exchange.jobs import IMPORT_FORMATS
from annotator.management.base import ServiceCommand
from annotator.models import Dataset


class Command(ServiceCommand):
    help = "Import a dataset's annotation sheet and frame folders (CASME II, SAMM, SMIC-HS, CSV)."

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=sorted(IMPORT_FORMATS))
        parser.add_argument(
            "--annotations", type=Path, help="coding sheet (.xlsx) or CSV; SMIC-HS has none"
        )
        parser.add_argument("--frames", type=Path, required=True, help="root of the clip folders")
        parser.add_argument("--dataset", help="dataset name (default: CASME II, SAMM, SMIC-HS)")
        parser.add_argument("--fps", type=float, help="frame rate (required for a new generic set)")
        parser.add_argument(
            "--user", help="username recorded as the labels' coder (default: the first superuser)"
        )
        parser.add_argument(
            "--no-preprocess", action="store_true", help="store labels only; queue no preprocessing"
        )
        parser.add_argument(
            "--coding-mode",
            choices=Dataset.CodingMode.values,
            help="the dataset's coding plan (default: an existing dataset's own; new: blind)",
        )
        parser.add_argument(
            "--coders-per-clip",
            type=int,
            help="coders the queue gives each clip to, 1-10 (default: the dataset's own; new: 2)",
        )
        parser.add_argument("--report", type=Path, help="write the validation report here (JSON)")

    def handle(self, *args, **options):
        user = self._user(options["user"])
        if options["format"] != "smic" and options["annotations"] is None:
            raise CommandError(f"--annotations is required for --format {options['format']}")
        with tqdm(total=100, desc="import", unit="%", disable=options["verbosity"] < 1) as bar:

            def progress(fraction: float, message: str) -> None:
                bar.update(round(fraction * 100) - bar.n)
                bar.set_postfix_str(message[:40])

            try:
                report = dataset_import_run(
                    import_format=options["format"],
                    frames=options["frames"],
                    annotations=options["annotations"],
                    dataset_name=options["dataset"],
                    default_fps=options["fps"],
                    user=user,
                    preprocess=not options["no_preprocess"],
                    coding_mode=options["coding_mode"],
                    coders_per_clip=options["coders_per_clip"],
                    progress=progress,
                )
            except (ValueError, FileNotFoundError) as error:  # mlcore's reading of the input
                raise CommandError(str(error)) from None
        if options["report"]:
            options["report"].write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        self.stdout.write(import_summary(report))
        for issue in report["issues"]:
            where = f"row {issue['row']}" if issue["row"] is not None else "folder"
            self.stdout.write(
                f"  {issue['severity']:7} {where} {issue['subject']}/{issue['clip']}: "
                f"{issue['message']}"
            )
        for item in report["updated"]:
            changes = ", ".join(
                f"{k} {old!r} -> {new!r}" for k, (old, new) in item["changes"].items()
            )
            self.stdout.write(
                f"  updated row {item['row']} {item['subject']}/{item['clip']}: {changes}"
            )

    def _user(self, username: str | None):
        users = get_user_model().objects
        if username:
            try:
                return users.get(username=username)
            except users.model.DoesNotExist:
                raise CommandError(f"No user named {username!r}.") from None
        user = users.filter(is_superuser=True).order_by("pk").first()
        if user is None:
            raise CommandError("No superuser to record as the coder: give --user USERNAME.")
        return user
