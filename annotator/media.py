"""Every path under MEDIA_ROOT, in one module: a clip's frames and crops, a training run's folder,
an export's files, a scoring job's scratch folder, and model checkpoints (stored on
`ModelVersion.checkpoint` relative to MEDIA_ROOT, so the media folder can move). Uploads keep
the `Clip.source` field's own `upload_to`."""

from pathlib import Path

from django.conf import settings

from annotator.models import Clip, JobRun, ModelVersion, TrainingRun

# Frame URLs carry the clip's media version, so a URL's bytes never change: cache for a year.
FRAME_CACHE_CONTROL = "private, max-age=31536000, immutable"


def clip_media_dir(*, clip: Clip) -> Path:
    return Path(settings.MEDIA_ROOT) / "clips" / str(clip.pk)


def training_root(*, training_run: TrainingRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "training" / str(training_run.pk)


def export_folder(*, job_run: JobRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / str(job_run.pk)


def export_zip_path(*, job_run: JobRun) -> Path:
    return export_folder(job_run=job_run) / "composite.zip"


def inference_root(*, job_run: JobRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "inference" / str(job_run.pk)


def checkpoint_path(*, version: ModelVersion) -> Path:
    return Path(settings.MEDIA_ROOT) / version.checkpoint


def checkpoint_name(*, path: Path) -> str:
    """What `ModelVersion.checkpoint` stores for a file under MEDIA_ROOT."""
    return str(path.relative_to(settings.MEDIA_ROOT))
