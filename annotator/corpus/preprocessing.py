"""The worker half of preprocessing: frames, the aligned face, motion previews. Only workers
import this module: it loads torch and OpenCV through mlcore."""

import shutil

from billiard.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from annotator import media
from annotator.corpus import selectors as corpus_selectors
from annotator.errors import InvalidRequestError
from annotator.import_roots import import_folder_check
from annotator.jobs.services import (
    JOB_TIME_LIMIT_ERROR,
    job_run_finish,
    job_run_progress_reporter,
    job_run_report_progress,
)
from annotator.models import Clip, JobRun
from mlcore.archives import extract_frames
from mlcore.faces.factory import create_detector
from mlcore.preprocess import preprocess_clip


def clip_preprocess_job(*, job_run: JobRun) -> None:
    """Extract frames, find and align the face, compute motion previews, mark the clip ready.

    Bad input (a corrupt video, an unsafe archive, no face) fails the clip with a message for the
    user and keeps the upload; the previous preprocessing, if any, stays served until a new one
    succeeds.
    """
    clip = job_run.clip
    job_run_report_progress(job_run=job_run, progress=0.0, message="Preparing frames")
    Clip.objects.filter(pk=clip.pk).update(ingest_status=Clip.IngestStatus.PROCESSING)
    clip_dir = media.clip_media_dir(clip=clip)
    version = clip.media_version + 1
    out_dir = clip_dir / f"v{version}"
    shutil.rmtree(out_dir, ignore_errors=True)
    try:
        source = clip.source_location
        if source is None:
            raise InvalidRequestError(f"{clip} has neither an upload nor a frame folder to read.")
        if clip.source_path:
            import_folder_check(folder=source)
        if source.suffix.lower() == ".zip":
            frames_dir = clip_dir / "source_frames"
            shutil.rmtree(frames_dir, ignore_errors=True)
            source = extract_frames(source, frames_dir)
        result = preprocess_clip(
            source=source,
            out_dir=out_dir,
            detector=create_detector(retinaface_weights=settings.RETINAFACE_WEIGHTS),
            progress=job_run_progress_reporter(job_run=job_run, start=0.05, end=0.98),
        )
    except Exception as error:
        shutil.rmtree(out_dir, ignore_errors=True)
        # A time limit interrupts the body with an exception that carries no message.
        reason = JOB_TIME_LIMIT_ERROR if isinstance(error, SoftTimeLimitExceeded) else str(error)
        Clip.objects.filter(pk=clip.pk).update(
            ingest_status=Clip.IngestStatus.FAILED, ingest_error=reason
        )
        raise
    meta = corpus_selectors.clip_preprocess_meta(path=out_dir)
    Clip.objects.filter(pk=clip.pk).update(
        frame_indices=result.frame_indices,
        frame_count=len(result.frame_indices),
        width=result.size[0],
        height=result.size[1],
        fps=result.fps or clip.fps,
        preprocess_meta=meta,
        media_version=version,
        ingest_status=Clip.IngestStatus.READY,
        ingest_error="",
    )
    for old in clip_dir.glob("v*"):
        if old != out_dir:
            shutil.rmtree(old, ignore_errors=True)
    job_run_finish(
        job_run=job_run,
        result={"frames": len(result.frame_indices), "detector": meta.get("detector")},
        message=f"{len(result.frame_indices)} frames ready "
        f"({result.frames_per_second:.0f} frames/s)",
    )
