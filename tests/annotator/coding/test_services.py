import pytest
from django.core.exceptions import ValidationError

from annotator.coding import services as coding_services
from annotator.errors import StaleRevisionError
from annotator.jobs import services as jobs
from annotator.models import Annotation, Coding, DatasetEmotion, JobRun
from mlcore.facs import parse_au_string
from tests.factories import ClipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(coder):
    return coding_services.clip_claim(clip=ClipFactory(), coder=coder)


def save(annotation, *, revision, onset=50, apex=60, offset=80, aus="R12B+6", submit=False):
    return coding_services.annotation_update(
        annotation=annotation,
        revision=revision,
        saved_by=annotation.coder,
        submit=submit,
        coding=Coding(
            onset=onset,
            apex=apex,
            offset=offset,
            emotion=DatasetEmotion.objects.get(
                dataset=annotation.clip.subject.dataset, name="happiness"
            ),
            action_units=parse_au_string(aus),
            notes="",
        ),
    )


def test_draft_is_created_once_per_coder_and_clip(draft, coder):
    assert coding_services.clip_claim(clip=draft.clip, coder=coder) == draft


def test_save_bumps_the_revision(draft):
    saved = save(draft, revision=1)
    assert saved.revision == 2
    assert (saved.onset, saved.apex, saved.offset) == (50, 60, 80)
    assert saved.action_units == [
        {"au": 12, "laterality": "R", "intensity": "B"},
        {"au": 6, "laterality": "", "intensity": ""},
    ]


def test_stale_revision_is_refused_and_nothing_is_overwritten(draft):
    tab_a = Annotation.objects.get(pk=draft.pk)
    tab_b = Annotation.objects.get(pk=draft.pk)
    save(tab_a, revision=1, onset=50)
    with pytest.raises(StaleRevisionError, match="changed by someone else"):
        save(tab_b, revision=1, onset=55)
    stored = Annotation.objects.get(pk=draft.pk)
    assert stored.onset == 50
    assert stored.revision == 2


def test_a_draft_stores_marks_out_of_order_and_submit_refuses_them(draft):
    saved = save(draft, revision=1, onset=90, offset=80)
    assert "offset" in saved.mark_problems()
    with pytest.raises(ValidationError) as raised:
        save(draft, revision=2, onset=90, offset=80, submit=True)
    assert "offset" in raised.value.message_dict
    stored = Annotation.objects.get(pk=draft.pk)
    assert (stored.onset, stored.offset, stored.revision) == (90, 80, 2)
    assert stored.status == Annotation.Status.DRAFT


def test_submit_validates_and_changes_status(draft):
    with pytest.raises(ValidationError):
        coding_services.annotation_update(
            annotation=draft,
            revision=1,
            saved_by=draft.coder,
            submit=True,
            coding=Coding(
                onset=None, apex=None, offset=None, emotion=None, action_units=[], notes=""
            ),
        )
    assert Annotation.objects.get(pk=draft.pk).status == Annotation.Status.DRAFT
    submitted = save(draft, revision=1, submit=True)
    assert submitted.status == Annotation.Status.SUBMITTED


def test_job_run_progress_is_clamped_and_never_goes_back(coder):
    job_run = JobRun.objects.create(kind=JobRun.Kind.HEALTHCHECK, queue="preprocess")
    jobs.job_run_report_progress(job_run=job_run, progress=0.6, message="more than half")
    jobs.job_run_report_progress(job_run=job_run, progress=0.2, message="late report")
    job_run.refresh_from_db()
    assert (job_run.progress, job_run.message) == (0.6, "more than half")
    jobs.job_run_report_progress(job_run=job_run, progress=7.0, message="overshoot")
    job_run.refresh_from_db()
    assert job_run.progress == 1.0


def test_unknown_queue_is_refused(coder):
    with pytest.raises(ValueError, match="Unknown queue 'gpu'"):
        jobs.worker_check_start(queue="gpu", created_by=coder)
