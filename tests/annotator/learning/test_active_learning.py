"""The active-learning services on real, tiny trainings: starting, freezing the labels, cancelling,
resuming a failed run, registering and activating model versions, and the proposals that order
the coders' queue. Jobs run in this process through their Celery tasks, as a worker runs them."""

import math
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from django.conf import settings
from django.db import connection

from annotator import media, tasks
from annotator.coding import services as coding_services
from annotator.errors import ConflictError, InvalidRequestError, TrainingBusyError
from annotator.jobs import services as jobs
from annotator.learning import services as learning
from annotator.models import (
    Annotation,
    Clip,
    Coding,
    Dataset,
    DatasetEmotion,
    JobRun,
    ModelVersion,
    Proposal,
    TrainingRun,
)
from mlcore.checksums import file_sha256
from mlcore.composite import CompositeSample, read_manifest
from mlcore.facs import AU_HEAD_UNITS, au_targets, parse_au_string
from tests.annotator.support.synthetic_sets import (
    preprocessing_run_queued,
    synthetic_dataset_import,
)
from tests.annotator.support.training_progress import finished_folds, fold_in_progress
from tests.factories import trainable_dataset
from tests.mlcore.training_fixtures import TINY_FRL_DGT


@pytest.fixture(autouse=True)
def one_torch_thread():
    """A tiny model gains nothing from threads, and on a busy machine they wait on each other."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def coded_set(tmp_path, admin_user) -> tuple[Dataset, list[Clip]]:
    """Twelve really preprocessed synthetic clips of three subjects. Each subject's first clip
    has no label yet; the others carry their published label, adjudicated."""
    dataset = synthetic_dataset_import(
        out_dir=tmp_path / "casme2", user=admin_user, name="Synthetic", clips_per_subject=4
    )
    assert preprocessing_run_queued() == 12
    unlabelled = [
        dataset_subject.clips.order_by("name").first()
        for dataset_subject in dataset.subjects.order_by("code")
    ]
    Annotation.objects.filter(clip__in=unlabelled).delete()
    return dataset, unlabelled


def train(dataset: Dataset, user, **options) -> TrainingRun:
    return learning.training_run_start(
        datasets=[dataset],
        model_name="frl_dgt",
        model_options=TINY_FRL_DGT,
        created_by=user,
        **{"epochs": 1, **options},
    )


def run_task(task, job_run: JobRun) -> JobRun:
    task.apply(args=[job_run.pk], throw=True)
    job_run.refresh_from_db()
    return job_run


def submit(*, clip: Clip, coder) -> Annotation:
    draft = coding_services.clip_claim(clip=clip, coder=coder)
    frames = clip.frame_indices
    return coding_services.annotation_update(
        annotation=draft,
        revision=draft.revision,
        saved_by=draft.coder,
        submit=True,
        coding=Coding(
            onset=frames[1],
            apex=frames[5],
            offset=frames[9],
            emotion=clip.subject.dataset.emotions.get(name="happiness"),
            action_units=parse_au_string("R12B"),
            notes="",
        ),
    )


def frozen_samples(training_run: TrainingRun) -> list[CompositeSample]:
    return read_manifest(media.training_root(training_run=training_run) / "snapshot")


def composite_labels(dataset: Dataset) -> int:
    return (
        Annotation.objects.filter(
            clip__subject__dataset=dataset, status=Annotation.Status.ADJUDICATED
        )
        .exclude(emotion__composite_class=DatasetEmotion.CompositeClass.EXCLUDED)
        .count()
    )


@contextmanager
def meanwhile(job_run: JobRun, *, once, act):
    """While the block trains in this thread, someone else (an admin, a restarted worker)
    watches the job's progress message on their own connection and acts once `once(message)`.
    Yields a list that gets the message they acted on (stays empty if they never did)."""
    stop, seen = threading.Event(), []

    def watch() -> None:
        try:
            while not stop.is_set():
                message = JobRun.objects.values_list("message", flat=True).get(pk=job_run.pk)
                if once(message):
                    act()
                    seen.append(message)
                    return
                time.sleep(0.02)
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield seen
    finally:
        stop.set()
        watcher.join()


def run_until_its_worker_restarts_in_fold_2(attempt: JobRun) -> None:
    """Run the attempt here while the worker running it restarts under its name during fold 2
    or 3 (the worker's task records the machine's hostname when it runs in-process)."""
    with meanwhile(
        attempt,
        once=lambda message: (fold_in_progress(message) or 0) >= 2,
        act=lambda: jobs.job_runs_fail_orphaned(worker=socket.gethostname()),
    ) as failed_at:
        run_task(tasks.training_run, attempt)
    assert failed_at, "the run finished before the worker could be restarted"


def test_start_refuses_bad_selections_and_a_second_run_on_the_same_datasets(admin_user):
    first = trainable_dataset(name="A")
    second = trainable_dataset(name="B", source_format="samm")
    with pytest.raises(InvalidRequestError, match="Choose at least one dataset"):
        learning.training_run_start(datasets=[], model_name="frl_dgt", created_by=admin_user)
    with pytest.raises(
        InvalidRequestError, match=r"Unknown model 'resnet'; choose one of .*frl_dgt"
    ):
        learning.training_run_start(datasets=[first], model_name="resnet", created_by=admin_user)
    assert not TrainingRun.objects.exists()

    queued = learning.training_run_start(
        datasets=[first, second], model_name="frl_dgt", created_by=admin_user
    )
    assert queued.latest_job_run.status == JobRun.Status.QUEUED
    for same_selection in ([second, first], [first, second, first]):
        with pytest.raises(TrainingBusyError, match="already queued or running"):
            learning.training_run_start(
                datasets=same_selection, model_name="ststnet", created_by=admin_user
            )
    assert TrainingRun.objects.count() == 1
    # Another selection is another run, even when it overlaps.
    learning.training_run_start(datasets=[first], model_name="frl_dgt", created_by=admin_user)
    # A cancelled run frees its selection.
    assert learning.training_run_cancel(training_run=queued)
    again = learning.training_run_start(
        datasets=[first, second], model_name="frl_dgt", created_by=admin_user
    )
    assert again.selection_key == queued.selection_key
    assert TrainingRun.objects.count() == 3


def test_a_run_freezes_the_chosen_labels_and_registers_its_checkpoint(coded_set, coder, admin_user):
    dataset, unlabelled = coded_set
    submitted = submit(clip=unlabelled[0], coder=coder)

    adjudicated_only = train(dataset, admin_user)
    job_run = run_task(tasks.training_run, adjudicated_only.latest_job_run)
    assert job_run.status == JobRun.Status.SUCCEEDED, job_run.error
    adjudicated_only.refresh_from_db()
    snapshot = adjudicated_only.snapshot
    assert snapshot["clips"] == composite_labels(dataset) > 0
    assert snapshot["subjects"] == 3
    left_out = {item["clip"]: item["reason"] for item in snapshot["left_out"]}
    assert left_out[submitted.clip.name] == "no adjudicated annotation"
    frozen = frozen_samples(adjudicated_only)
    assert len(frozen) == snapshot["clips"]
    assert submitted.clip.name not in {sample.clip for sample in frozen}

    version = ModelVersion.objects.get(training_run=adjudicated_only)
    checkpoint = Path(settings.MEDIA_ROOT) / version.checkpoint
    assert version.checkpoint_sha256 == file_sha256(checkpoint)
    assert version.labelled_clips == snapshot["clips"]
    assert not version.is_active
    full = version.metrics["pooled"]["full"]
    assert 0.0 <= full["uf1"] <= 1.0 and 0.0 <= full["uar"] <= 1.0
    assert version.metrics["n_folds"] == 3  # leave one subject out
    assert job_run.result == {"uf1": full["uf1"], "uar": full["uar"]}
    assert job_run.message == f"UF1 {full['uf1']:.3f}, UAR {full['uar']:.3f}"

    with_submitted = train(dataset, admin_user, min_status=TrainingRun.MinStatus.SUBMITTED)
    job_run = run_task(tasks.training_run, with_submitted.latest_job_run)
    assert job_run.status == JobRun.Status.SUCCEEDED, job_run.error
    with_submitted.refresh_from_db()
    assert with_submitted.snapshot["clips"] == snapshot["clips"] + 1
    frozen = frozen_samples(with_submitted)
    (sample,) = [s for s in frozen if s.clip == submitted.clip.name]
    assert (sample.onset, sample.apex, sample.offset) == (
        submitted.onset,
        submitted.apex,
        submitted.offset,
    )
    assert ModelVersion.objects.get(training_run=with_submitted).labelled_clips == len(frozen)


@pytest.mark.django_db(transaction=True)
def test_cancelling_during_training_stops_the_run_without_a_version(coded_set, admin_user):
    dataset, _ = coded_set
    run = train(dataset, admin_user, epochs=300)
    job_run = run.latest_job_run
    with meanwhile(
        job_run,
        once=lambda message: "epoch" in message,
        act=lambda: learning.training_run_cancel(training_run=run),
    ) as cancelled_at:
        run_task(tasks.training_run, job_run)
    assert cancelled_at and fold_in_progress(cancelled_at[0]) == 1
    assert job_run.status == JobRun.Status.CANCELLED
    assert job_run.message == "Cancelled"
    assert not ModelVersion.objects.exists()
    run_dir = media.training_root(training_run=run) / "run"
    assert not (run_dir / "final.pt").exists()
    assert finished_folds(run) == {}  # fold 1 never finished
    assert not learning.training_run_cancel(training_run=run)  # nothing left to cancel


@pytest.mark.django_db(transaction=True)
def test_a_failed_run_resumes_after_its_finished_folds_with_the_same_metrics(coded_set, admin_user):
    dataset, _ = coded_set
    uninterrupted = train(dataset, admin_user, epochs=40)
    assert run_task(tasks.training_run, uninterrupted.latest_job_run).status == "succeeded"
    uninterrupted.refresh_from_db()

    run = train(dataset, admin_user, epochs=40)
    attempt = run.latest_job_run
    run_until_its_worker_restarts_in_fold_2(attempt)
    assert attempt.status == JobRun.Status.FAILED
    assert f"The worker {socket.gethostname()} stopped" in attempt.error
    assert "Retry to resume from the last finished fold" in attempt.error
    finished = finished_folds(run)
    assert "folds/fold_000.json" in finished and "checkpoints/fold_000.pt" in finished
    run_dir = media.training_root(training_run=run) / "run"
    assert not (run_dir / "final.pt").exists()
    assert not ModelVersion.objects.filter(training_run=run).exists()

    # Labels edited after the freeze are not in this run: the retry trains on its snapshot.
    edited = Annotation.objects.filter(
        clip__subject__dataset=dataset, status=Annotation.Status.ADJUDICATED
    ).first()
    coding_services.annotation_update(
        annotation=edited,
        revision=edited.revision,
        saved_by=edited.coder,
        coding=Coding(
            onset=edited.onset,
            apex=edited.offset,
            offset=edited.offset,
            emotion=dataset.emotions.get(name="surprise"),
            action_units=[],
            notes="changed after the snapshot",
        ),
    )

    retry = learning.training_run_retry(training_run=run, created_by=admin_user)
    with pytest.raises(TrainingBusyError, match="still queued or running"):
        learning.training_run_retry(training_run=run, created_by=admin_user)
    assert run_task(tasks.training_run, retry).status == JobRun.Status.SUCCEEDED, retry.error
    after = finished_folds(run)
    assert {name: after[name] for name in finished} == finished  # not retrained
    assert len(after) == 2 * uninterrupted.metrics["n_folds"]
    run.refresh_from_db()
    for key in ("pooled", "per_fold", "confusion_matrix", "n_clips"):
        assert run.metrics[key] == uninterrupted.metrics[key]
    version = ModelVersion.objects.get(training_run=run)
    assert version.checkpoint_sha256 == file_sha256(Path(settings.MEDIA_ROOT) / version.checkpoint)
    with pytest.raises(ConflictError, match="This run finished"):
        learning.training_run_retry(training_run=run, created_by=admin_user)


@pytest.mark.django_db(transaction=True)
def test_a_run_that_trained_without_the_au_head_resumes_without_it_on_au_coded_clips(
    coded_set, admin_user
):
    dataset, _ = coded_set
    run = train(dataset, admin_user, epochs=40)
    # Its options as recorded for a run whose first attempt came before the AU head (migration
    # 0018): the run's own, no head, although its clips carry AU labels.
    TrainingRun.objects.filter(pk=run.pk).update(trained_model_options=TINY_FRL_DGT)
    attempt = run.latest_job_run
    run_until_its_worker_restarts_in_fold_2(attempt)
    assert any(au_targets(sample.aus)[1] for sample in frozen_samples(run))
    finished = finished_folds(run)
    assert "folds/fold_000.json" in finished

    retry = learning.training_run_retry(training_run=run, created_by=admin_user)
    assert run_task(tasks.training_run, retry).status == JobRun.Status.SUCCEEDED, retry.error
    after = finished_folds(run)
    assert {name: after[name] for name in finished} == finished  # resumed, not retrained
    run.refresh_from_db()
    assert run.trained_model_options == TINY_FRL_DGT
    assert "au_head" not in run.model_version.config["model_options"]
    assert "au" not in run.metrics


def test_a_retry_after_a_worker_died_while_freezing_freezes_anew(coded_set, admin_user):
    dataset, _ = coded_set
    run = train(dataset, admin_user)
    # What a worker killed during the export leaves: a failed attempt and a partial folder.
    partial = media.training_root(training_run=run) / "snapshot" / "casme2" / "sub01"
    partial.mkdir(parents=True)
    (partial / "half_written.png").write_bytes(b"\x89PNG")
    JobRun.objects.filter(pk=run.latest_job_run.pk).update(status=JobRun.Status.FAILED)

    retry = learning.training_run_retry(training_run=run, created_by=admin_user)
    assert run_task(tasks.training_run, retry).status == JobRun.Status.SUCCEEDED, retry.error
    assert not (partial / "half_written.png").exists()
    run.refresh_from_db()
    assert run.snapshot["clips"] == composite_labels(dataset)


def assert_sound_proposals(version: ModelVersion, clips: list[Clip]) -> None:
    proposals = {p.clip_id: p for p in Proposal.objects.filter(model_version=version)}
    assert set(proposals) == {clip.pk for clip in clips}
    for clip in clips:
        proposal = proposals[clip.pk]
        probabilities = proposal.probabilities
        assert set(probabilities) == {"negative", "positive", "surprise"}
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-3)
        assert proposal.predicted_class == max(probabilities, key=probabilities.get)
        frames = clip.frame_indices
        assert {proposal.onset, proposal.apex, proposal.offset} <= set(frames)
        assert proposal.onset <= proposal.apex <= proposal.offset
        assert 0.0 <= proposal.apex_confidence <= 1.0
        assert 0.0 <= proposal.entropy <= math.log(3) + 1e-6
        assert 0.0 <= proposal.margin <= 1.0
        assert 0.0 <= proposal.bald <= proposal.entropy + 1e-6
        assert 0.0 <= proposal.novelty <= 1.0
    # The interval is proposed, not the clip's span stood in for it.
    assert any(
        (p.onset, p.offset) != (clip.first_frame, clip.last_frame)
        for clip in clips
        for p in [proposals[clip.pk]]
    ), [(p.onset, p.apex, p.offset) for p in proposals.values()]


def test_activation_keeps_one_version_active_and_scores_every_unadjudicated_clip(
    coded_set, coder, admin_user
):
    dataset, unlabelled = coded_set
    submit(clip=unlabelled[0], coder=coder)  # submitted, not adjudicated: still scored
    first_run = train(dataset, admin_user)
    run_task(tasks.training_run, first_run.latest_job_run)
    second_run = train(dataset, admin_user, seed=1)
    run_task(tasks.training_run, second_run.latest_job_run)
    first, second = first_run.model_version, second_run.model_version

    scoring = run_task(
        tasks.proposals, learning.model_version_activate(version=first, activated_by=None)
    )
    assert scoring.status == JobRun.Status.SUCCEEDED, scoring.error
    assert scoring.message == "3 clips scored" and scoring.model_version == first
    assert list(ModelVersion.objects.filter(is_active=True)) == [first]
    assert_sound_proposals(first, unlabelled)

    scoring = run_task(
        tasks.proposals, learning.model_version_activate(version=second, activated_by=None)
    )
    assert scoring.status == JobRun.Status.SUCCEEDED, scoring.error
    assert list(ModelVersion.objects.filter(is_active=True)) == [second]
    assert_sound_proposals(second, unlabelled)

    # A clip adjudicated since loses its proposal when a version scores again.
    adjudicated = unlabelled[1]
    coding_services.annotation_adjudicate(
        clip=adjudicated,
        reviewer=admin_user,
        based_on=None,
        revision=None,
        coding=Coding(
            onset=adjudicated.frame_indices[1],
            apex=adjudicated.frame_indices[4],
            offset=adjudicated.frame_indices[8],
            emotion=dataset.emotions.get(name="disgust"),
            action_units=parse_au_string("4"),
            notes="",
        ),
    )
    run_task(tasks.proposals, learning.model_version_activate(version=first, activated_by=None))
    assert list(ModelVersion.objects.filter(is_active=True)) == [first]
    assert_sound_proposals(first, [unlabelled[0], unlabelled[2]])


def trained_and_scored(dataset: Dataset, user) -> ModelVersion:
    """A retrain of the dataset, activated: its proposals are stored."""
    run = train(dataset, user)
    assert run_task(tasks.training_run, run.latest_job_run).status == JobRun.Status.SUCCEEDED
    version = ModelVersion.objects.get(training_run=run)
    scoring = run_task(
        tasks.proposals, learning.model_version_activate(version=version, activated_by=None)
    )
    assert scoring.status == JobRun.Status.SUCCEEDED, scoring.error
    return version


def test_a_retrain_on_au_coded_clips_trains_the_au_head_and_proposes_aus(
    coded_set, admin_user, api_as
):
    dataset, unlabelled = coded_set
    version = trained_and_scored(dataset, admin_user)
    run = version.training_run
    # The frozen labels carry the AUs of the adjudicated coding, so the head learnt from them.
    coded = [sample for sample in frozen_samples(run) if au_targets(sample.aus)[1]]
    assert coded and {sample.aus for sample in coded} != {""}
    assert version.config["model_options"]["au_head"] is True
    assert run.trained_model_options == {**TINY_FRL_DGT, "au_head": True}  # for its retries
    assert run.metrics["au"]["n_clips"] == len(coded)

    units = {f"AU{unit}" for unit in AU_HEAD_UNITS}
    proposals = {p.clip_id: p for p in Proposal.objects.filter(model_version=version)}
    assert set(proposals) == {clip.pk for clip in unlabelled}
    for proposal in proposals.values():
        assert set(proposal.action_units) == units
        assert all(0.0 <= p <= 1.0 for p in proposal.action_units.values())
    api = api_as(admin_user)
    for clip in unlabelled:
        listed = api.get("/api/v1/proposals/", {"clip": clip.pk}).json()["results"]
        assert [row["action_units"] for row in listed] == [proposals[clip.pk].action_units]


def test_a_retrain_without_au_labels_has_no_au_head_and_proposes_no_aus(coded_set, admin_user):
    dataset, unlabelled = coded_set
    Annotation.objects.filter(clip__subject__dataset=dataset).update(action_units=[])
    version = trained_and_scored(dataset, admin_user)
    assert "au_head" not in version.config["model_options"]
    assert version.training_run.trained_model_options == TINY_FRL_DGT
    assert "au" not in version.training_run.metrics
    proposals = Proposal.objects.filter(model_version=version)
    assert proposals.count() == len(unlabelled)
    assert all(proposal.action_units == {} for proposal in proposals)


def test_a_checkpoint_that_changed_on_disk_is_refused(coded_set, admin_user):
    dataset, _ = coded_set
    run = train(dataset, admin_user)
    run_task(tasks.training_run, run.latest_job_run)
    version = run.model_version
    checkpoint = Path(settings.MEDIA_ROOT) / version.checkpoint
    with checkpoint.open("ab") as file:
        file.write(b"tampered")

    scoring = run_task(
        tasks.proposals, learning.model_version_activate(version=version, activated_by=None)
    )
    assert scoring.status == JobRun.Status.FAILED
    assert scoring.error == (f"{checkpoint} does not match the checksum recorded for {version}")
    assert not Proposal.objects.exists()


def test_each_clip_gets_its_own_proposal_when_names_sort_otherwise_than_the_clips(
    coded_set, admin_user
):
    # The scoring folder's manifest lists clips sorted by subject code, the job takes them in
    # primary-key order: with the codes reversed the two orders differ.
    dataset, unlabelled = coded_set
    subjects = list(dataset.subjects.order_by("pk"))
    for index, subject in enumerate(subjects):
        subject.code = f"s{len(subjects) - index}"
        subject.save(update_fields=["code"])
    version = trained_and_scored(dataset, admin_user)
    assert_sound_proposals(version, unlabelled)
