"""What the import and export jobs share between their web and worker halves: the formats and
choices they accept, and the options a job row carries (an export's files lie where
`annotator.media` says)."""

from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from annotator.errors import InvalidRequestError
from annotator.jobs import services as jobs
from annotator.models import Dataset, JobRun

Progress = Callable[[float, str], None]

# Command-line and form names of the import formats -> Dataset.source_format.
IMPORT_FORMATS = {"casme2": "casme2", "samm": "samm", "smic": "smic", "generic-csv": "generic"}
DEFAULT_DATASET_NAMES = {"casme2": "CASME II", "samm": "SAMM", "smic": "SMIC-HS"}
# Which annotation of a clip an export takes, in the words the export form shows.
MIN_STATUS_LABELS = {
    "adjudicated": "Adjudicated only (the reviewer's final annotations)",
    "submitted": "Adjudicated, or else a clip's one submitted annotation (clips coded twice "
    "and not yet adjudicated are left out)",
}
MIN_STATUSES = tuple(MIN_STATUS_LABELS)


def import_coding_plan(*, coding_mode: str | None, coders_per_clip: int | None) -> dict:
    """The coding plan an import gives its dataset, checked by the Dataset fields' own rules:
    only what was chosen (an existing dataset keeps the rest; a new one has the defaults)."""
    plan = {
        name: value
        for name, value in (("coding_mode", coding_mode), ("coders_per_clip", coders_per_clip))
        if value is not None
    }
    try:
        Dataset(**plan).clean_fields(
            exclude=[field.name for field in Dataset._meta.fields if field.name not in plan]
        )
    except ValidationError as invalid:
        field, messages = next(iter(invalid.message_dict.items()))
        raise InvalidRequestError(f"{field}: {' '.join(messages)}", field=field) from None
    return plan


def no_progress(fraction: float, message: str) -> None:
    return None


def job_run_create_with_options(
    *, kind: str, created_by: AbstractBaseUser, options: dict, enqueue: Callable[[int], None]
) -> JobRun:
    # The options ride on the row (shown in the admin until the result replaces them); the
    # atomic block makes the task, enqueued on commit, always find them.
    with transaction.atomic():
        job_run = jobs.job_run_create(
            kind=kind, queue="preprocess", created_by=created_by, enqueue=enqueue
        )
        JobRun.objects.filter(pk=job_run.pk).update(result={"options": options})
    job_run.refresh_from_db()
    return job_run


def job_options(*, job_run: JobRun) -> dict:
    options = job_run.result.get("options")
    if not isinstance(options, dict):
        raise ValueError(f"Job #{job_run.pk} carries no options (was it started by its service?)")
    return options
