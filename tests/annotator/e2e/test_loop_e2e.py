"""The whole active-learning loop as its users live it, on a real Celery worker, Redis and
PostgreSQL, with the admin and the coder in Debian Chromium: import a synthetic set, upload
unlabelled clips, code and adjudicate one, retrain from the training page, activate the version,
and find the coders' queue ordered by the model's uncertainty with the proposed apex on the
workbench timeline."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from annotator.coding import services as coding_services
from annotator.corpus import services as corpus
from annotator.exchange import services as exchange
from annotator.models import (
    Annotation,
    Clip,
    Coding,
    Dataset,
    JobRun,
    ModelVersion,
    Proposal,
    Subject,
)
from mlcore.facs import parse_au_string
from mlcore.synth import generate
from tests.clip_files import frames_zip_bytes
from tests.factories import UserFactory
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

UNLABELLED_CLIPS = 5


def jobs_settled(kind: str) -> bool:
    jobs = JobRun.objects.filter(kind=kind)
    failed = jobs.filter(status=JobRun.Status.FAILED).first()
    assert failed is None, failed.error
    return (
        jobs.exists()
        and not jobs.filter(status__in=[JobRun.Status.QUEUED, JobRun.Status.RUNNING]).exists()
    )


def import_on_worker(*, tmp_path, admin) -> Dataset:
    generate(
        out_dir=tmp_path / "casme2",
        layout="casme2",
        subjects=3,
        clips_per_subject=3,
        frames=12,
        size=(160, 120),
        seed=0,
    )
    exchange.dataset_import_start(
        created_by=admin,
        import_format="casme2",
        frames=str(tmp_path / "casme2" / "CASME2_RAW"),
        annotations=str(tmp_path / "casme2" / "CASME2-coding-20140508.xlsx"),
        dataset_name="CASME II synthetic",
    )
    wait_for(lambda: jobs_settled(JobRun.Kind.IMPORT), timeout=120, what="the import")
    return Dataset.objects.get(name="CASME II synthetic")


def upload_unlabelled(*, dataset: Dataset, admin) -> list[Clip]:
    subjects = list(Subject.objects.filter(dataset=dataset).order_by("code"))
    clips = []
    for number in range(UNLABELLED_CLIPS):
        name = f"new_{number:02d}"
        job_run = corpus.clip_upload(
            clip=Clip(subject=subjects[number % len(subjects)], name=name, fps=200.0),
            upload=SimpleUploadedFile(f"{name}.zip", frames_zip_bytes(count=12, folder=name)),
            created_by=admin,
        )
        clips.append(job_run.clip)
    return clips


def code_twice_and_adjudicate(*, clip: Clip, dataset: Dataset) -> None:
    emotion = dataset.emotions.get(name="happiness")
    first, second = (UserFactory(username=name, role="coder") for name in ("ana", "ben"))
    frames = clip.frame_indices
    drafts = []
    for coder, apex in ((first, frames[5]), (second, frames[6])):
        draft = coding_services.clip_claim(clip=clip, coder=coder)
        drafts.append(
            coding_services.annotation_update(
                annotation=draft,
                revision=draft.revision,
                saved_by=draft.coder,
                submit=True,
                coding=Coding(
                    onset=frames[1],
                    apex=apex,
                    offset=frames[10],
                    emotion=emotion,
                    action_units=parse_au_string("12"),
                    notes="",
                ),
            )
        )
    coding_services.annotation_adjudicate(
        clip=clip,
        reviewer=UserFactory(username="rita", role="reviewer"),
        based_on=drafts[0],
        revision=None,
        coding=Coding(
            onset=frames[1],
            apex=frames[5],
            offset=frames[10],
            emotion=emotion,
            action_units=parse_au_string("12"),
            notes="Ana's apex: the lip corners peak at frame 5.",
        ),
    )


def test_retrain_activate_and_code_the_most_uncertain_clip_first(
    celery_worker_process, live_server, page, log_in, admin_user, tmp_path
):
    dataset = import_on_worker(tmp_path=tmp_path, admin=admin_user)
    unlabelled = upload_unlabelled(dataset=dataset, admin=admin_user)
    wait_for(
        lambda: not Clip.objects.exclude(ingest_status=Clip.IngestStatus.READY).exists(),
        timeout=180,
        what="every clip to be preprocessed",
    )
    assert jobs_settled(JobRun.Kind.PREPROCESS)
    coded = Clip.objects.get(pk=unlabelled[0].pk)
    code_twice_and_adjudicate(clip=coded, dataset=dataset)
    labelled = Annotation.objects.filter(status=Annotation.Status.ADJUDICATED).count()
    assert labelled == 9 + 1

    # Before any model: the coder's queue is oldest first and shows no uncertainty.
    coder = UserFactory(username="cora", role="coder")
    log_in(page, username=coder.username)
    page.goto(f"{live_server.url}/queue/")
    first_rows = page.locator("#up-next tbody tr")
    expect(first_rows.first).to_contain_text("—")

    # The admin retrains from the training page and watches the run finish.
    page.context.clear_cookies()
    log_in(page, username=admin_user.username)
    page.goto(f"{live_server.url}/training/")
    page.get_by_label("CASME II synthetic").check()
    page.select_option("select[name=model_name]", "ststnet")
    page.select_option("select[name=protocol]", "loso")
    page.fill("input[name=epochs]", "3")
    page.click("#retrain button[type=submit]")
    run_row = page.locator("article.training-run").first
    expect(run_row).to_have_attribute("data-status", "succeeded", timeout=240_000)
    version = ModelVersion.objects.get()
    # The snapshot holds the adjudicated clips whose emotion maps to a composite class.
    assert 0 < version.labelled_clips == version.training_run.snapshot["clips"] <= labelled
    assert 0.0 <= version.metrics["pooled"]["full"]["uf1"] <= 1.0
    page.click(f"#model-version-{version.pk} button:has-text('Activate')")
    expect(page.locator(f"#model-version-{version.pk}")).to_contain_text(
        f"{UNLABELLED_CLIPS - 1} clips scored", timeout=120_000
    )

    # Every unadjudicated clip has a proposal, the adjudicated ones none.
    proposals = {p.clip_id: p for p in Proposal.objects.filter(model_version=version)}
    assert set(proposals) == {clip.pk for clip in unlabelled[1:]}
    for proposal in proposals.values():
        clip = Clip.objects.get(pk=proposal.clip_id)
        assert proposal.apex in clip.frame_indices
        assert sum(proposal.probabilities.values()) == pytest.approx(1.0, abs=1e-3)

    # The coder's queue now puts the most uncertain clip first. The lab codes this dataset with
    # the model's help (blind coding would keep the proposal hidden until the coder submits).
    Dataset.objects.filter(pk=dataset.pk).update(
        coding_mode=Dataset.CodingMode.MODEL_ASSISTED, coders_per_clip=1
    )
    page.context.clear_cookies()
    log_in(page, username=coder.username)
    page.goto(f"{live_server.url}/queue/")
    rows = page.locator("#up-next tbody tr")
    expect(rows).to_have_count(UNLABELLED_CLIPS - 1)
    shown = [float(rows.nth(i).locator("td").nth(3).inner_text()) for i in range(rows.count())]
    assert shown == sorted(shown, reverse=True)
    most_uncertain = max(proposals.values(), key=lambda p: p.entropy)
    expect(rows.first).to_contain_text(Clip.objects.get(pk=most_uncertain.clip_id).name)

    # "Next clip" opens that clip with the model's apex on the timeline and its probabilities.
    page.get_by_role("link", name=re.compile("next clip", re.IGNORECASE)).first.click()
    page.wait_for_url(re.compile(rf"/clips/{most_uncertain.clip_id}/code/"))
    expect(page.get_by_test_id("timeline-legend")).to_contain_text(
        f"model's proposed apex: frame {most_uncertain.apex}"
    )
    predicted = page.locator("#proposal-panel li.predicted")
    expect(predicted).to_have_attribute("data-class", most_uncertain.predicted_class)
    share = most_uncertain.probabilities[most_uncertain.predicted_class]
    expect(predicted.locator(".percent")).to_have_text(f"{round(share * 100)}%")
