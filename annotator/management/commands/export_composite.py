"""`manage.py export_composite`: write the MEGC2019-style composite of the platform's labels.

    python manage.py export_composite --out DIR [--datasets "CASME II" SAMM] \\
        [--min-status adjudicated|submitted] [--flows] [--megc2019] [--crop-size 112]

DIR gets combined_3class_gt.csv, manifest.csv, loso_folds.json, PNG crops per clip, optionally
the STSTNet folders (ststnet/), and export.json; `python -m mlcore train --data DIR` reads it.
"""

from pathlib import Path

from django.core.management.base import CommandError
from tqdm import tqdm

from annotator.exchange.exports import composite_export_run
from annotator.exchange.jobs import MIN_STATUSES
from annotator.management.base import ServiceCommand
from annotator.models import Dataset


class Command(ServiceCommand):
    help = "Export the composite dataset (MEGC2019 ground truth, manifest, folds, crops)."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--datasets", nargs="+", help="dataset names (default: all)")
        parser.add_argument("--min-status", choices=MIN_STATUSES, default="adjudicated")
        parser.add_argument("--flows", action="store_true", help="also write STSTNet flow folders")
        parser.add_argument(
            "--megc2019",
            action="store_true",
            help="MEGC2019's official composite list (published rule, CASME II apex omissions)",
        )
        parser.add_argument("--crop-size", type=int, default=112, help="aligned crop size")

    def handle(self, *args, **options):
        datasets = None
        if options["datasets"]:
            datasets = list(Dataset.objects.filter(name__in=options["datasets"]))
            missing = sorted(set(options["datasets"]) - {d.name for d in datasets})
            if missing:
                raise CommandError(f"No dataset named {', '.join(map(repr, missing))}.")
        with tqdm(total=100, desc="export", unit="%", disable=options["verbosity"] < 1) as bar:

            def progress(fraction: float, message: str) -> None:
                bar.update(round(fraction * 100) - bar.n)
                bar.set_postfix_str(message[:40])

            try:
                summary = composite_export_run(
                    out_dir=options["out"],
                    datasets=datasets,
                    min_status=options["min_status"],
                    flows=options["flows"],
                    megc2019=options["megc2019"],
                    crop_size=options["crop_size"],
                    progress=progress,
                )
            except (ValueError, FileNotFoundError) as error:  # mlcore's reading of the input
                raise CommandError(str(error)) from None
        per_class = summary["counts"]["per_class"]
        self.stdout.write(
            f"{summary['clips']} clips, {summary['subjects']} subjects "
            f"({', '.join(f'{k} {v}' for k, v in per_class.items())}) -> {options['out']}"
        )
        for item in summary["left_out"]:
            self.stdout.write(
                f"  left out {item['dataset']}/{item['subject']}/{item['clip']}: {item['reason']}"
            )
        for change, items in summary.get("megc2019", {}).items():
            if change == "published":
                for key, counts in items.items():
                    verdict = "matches" if counts["matches"] else "differs from"
                    self.stdout.write(
                        f"  {key}: {counts['exported']} {verdict} MEGC2019's {counts['published']}"
                    )
                continue
            for item in items:
                self.stdout.write(
                    f"  megc2019 {change} {item['dataset']}/{item['subject']}/{item['clip']}: "
                    f"{item['reason']}"
                )
