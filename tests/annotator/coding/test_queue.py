"""Next clip follows the active model version's uncertainty, caps each subject, and hands each
clip to as many coders as its dataset's coding plan asks for."""

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from annotator.coding import queue as coding_queue
from annotator.coding import selectors as coding_selectors
from annotator.coding import services as coding_services
from annotator.errors import ClaimError
from annotator.models import (
    Annotation,
    ClipRelease,
    Dataset,
    ModelVersion,
    Proposal,
    QueueSettings,
    TrainingRun,
)
from tests.factories import ClipFactory, DatasetFactory, SubjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored_clips():
    first, second = SubjectFactory(code="01"), SubjectFactory(code="02")
    second.dataset = first.dataset
    second.save()
    run = TrainingRun.objects.create(selection_key=str(first.dataset_id), model_name="frl_dgt")
    version = ModelVersion.objects.create(
        training_run=run,
        model_name="frl_dgt",
        checkpoint="x.pt",
        checkpoint_sha256="0" * 64,
        is_active=True,
    )
    clips = {}
    for subject, name, entropy in [
        (first, "a_low", 0.1),
        (first, "a_high", 1.0),
        (first, "a_mid", 0.9),
        (second, "b_mid", 0.5),
    ]:
        clip = ClipFactory(subject=subject, name=name)
        Proposal.objects.create(
            clip=clip,
            model_version=version,
            onset=46,
            apex=60,
            apex_confidence=0.5,
            probabilities={"negative": 0.4, "positive": 0.3, "surprise": 0.3},
            predicted_class="negative",
            entropy=entropy,
            margin=0.1,
            bald=0.01,
        )
        clips[name] = clip
    return clips


def names(clips):
    return [clip.name for clip in clips]


def test_most_uncertain_first_with_a_cap_per_subject(scored_clips, coder):
    assert names(coding_selectors.clip_queue_ranked(coder=coder)) == [
        "a_high",
        "a_mid",
        "b_mid",
        "a_low",
    ]
    QueueSettings.objects.create(pk=1, subject_cap=1)
    assert names(coding_selectors.clip_queue_ranked(coder=coder)) == [
        "a_high",
        "b_mid",
        "a_mid",
        "a_low",
    ]
    QueueSettings.objects.filter(pk=1).update(strategy=QueueSettings.Strategy.SEQUENTIAL)
    # The cap applies to every strategy: one clip per subject before the second.
    queue = coding_selectors.clip_queue_ranked(coder=coder)
    assert names(queue) == ["a_low", "b_mid", "a_high", "a_mid"]
    # Whatever the order, each clip shows its uncertainty (the active proposal's entropy).
    assert [clip.uncertainty for clip in queue] == [0.1, 0.5, 1.0, 0.9]


def test_a_plan_of_two_serves_the_top_clip_to_two_coders_and_not_a_third(scored_clips, coder):
    second, third = (UserFactory(username=name, role="coder") for name in ("coder2", "coder3"))
    assert coding_queue.coder_next_draft_claim(coder=coder).clip.name == "a_high"
    assert coding_queue.coder_next_draft_claim(coder=second).clip.name == "a_high"
    assert coding_queue.coder_next_draft_claim(coder=third).clip.name == "a_mid"
    assert "a_high" not in names(coding_selectors.clip_queue_ranked(coder=third))
    with pytest.raises(ClaimError, match="already has the 2 coders") as refused:
        coding_services.clip_claim(clip=scored_clips["a_high"], coder=third)
    assert refused.value.code == "plan_full"
    # The coder's own draft comes back first until it is submitted, and is then never served
    # to them again; the submitted annotation keeps its place in the plan.
    assert coding_queue.coder_next_draft_claim(coder=coder).clip.name == "a_high"
    Annotation.objects.filter(coder=coder).update(status=Annotation.Status.SUBMITTED)
    assert coding_queue.coder_next_draft_claim(coder=coder).clip.name == "a_mid"
    assert "a_high" not in names(coding_selectors.clip_queue_ranked(coder=coder))
    assert "a_high" not in names(coding_selectors.clip_queue_ranked(coder=third))


def test_a_plan_of_one_gives_each_clip_to_one_coder(scored_clips, coder):
    Dataset.objects.update(coding_mode=Dataset.CodingMode.MODEL_ASSISTED, coders_per_clip=1)
    other = UserFactory(username="coder2", role="coder")
    assert coding_queue.coder_next_draft_claim(coder=coder).clip.name == "a_high"
    assert coding_queue.coder_next_draft_claim(coder=other).clip.name == "a_mid"


def test_an_expired_claim_gives_the_clip_back_but_the_draft_stays_its_coders(scored_clips, coder):
    Dataset.objects.update(coders_per_clip=1)
    other = UserFactory(username="coder2", role="coder")
    draft = coding_queue.coder_next_draft_claim(coder=coder)
    assert "a_high" not in names(coding_selectors.clip_queue_ranked(coder=other))
    minutes = coding_selectors.queue_settings().claim_minutes
    Annotation.objects.filter(pk=draft.pk).update(
        updated_at=timezone.now() - timedelta(minutes=minutes + 1)
    )
    assert coding_queue.coder_next_draft_claim(coder=other).clip.name == "a_high"
    # The first coder still finds their draft first; the plan is full for nobody else.
    assert coding_queue.coder_next_draft_claim(coder=coder).pk == draft.pk
    assert names(coding_selectors.clip_queue_ranked(coder=coder))[0] == "a_high"


def test_a_released_draft_gives_the_clip_back(scored_clips, coder):
    Dataset.objects.update(coders_per_clip=1)
    other = UserFactory(username="coder2", role="coder")
    draft = coding_queue.coder_next_draft_claim(coder=coder)
    coding_services.annotation_release(annotation=draft, discard_edits=False)
    assert not Annotation.objects.filter(pk=draft.pk).exists()
    assert coding_queue.coder_next_draft_claim(coder=other).clip.name == "a_high"


def test_a_draft_with_saved_edits_is_released_only_when_its_coder_discards_them(
    scored_clips, coder
):
    draft = coding_services.clip_claim(clip=scored_clips["a_low"], coder=coder)
    coding_services.annotation_update(
        annotation=draft,
        revision=1,
        coding=replace(draft.coding(), onset=50),
        saved_by=coder,
    )
    with pytest.raises(ClaimError, match="has saved edits") as refused:
        coding_services.annotation_release(annotation=draft, discard_edits=False)
    assert refused.value.code == "has_edits"
    assert Annotation.objects.get(pk=draft.pk).onset == 50
    coding_services.annotation_release(annotation=draft, discard_edits=True)
    assert not Annotation.objects.filter(pk=draft.pk).exists()


def test_nobody_claims_an_adjudicated_clip_nor_one_they_submitted(scored_clips, coder, admin_user):
    clip = scored_clips["a_mid"]
    Annotation.objects.create(
        clip=clip, coder=coder, status=Annotation.Status.SUBMITTED, onset=46, offset=50
    )
    with pytest.raises(ClaimError, match="already submitted"):
        coding_services.clip_claim(clip=clip, coder=coder)
    Annotation.objects.create(
        clip=clip, coder=admin_user, status=Annotation.Status.ADJUDICATED, onset=46, offset=50
    )
    other = UserFactory(username="coder2", role="coder")
    with pytest.raises(ClaimError, match="is adjudicated"):
        coding_services.clip_claim(clip=clip, coder=other)
    assert Annotation.objects.filter(clip=clip, status=Annotation.Status.DRAFT).count() == 0


def test_an_open_draft_comes_back_first_however_low_it_ranks(scored_clips, coder, admin_user):
    coding_services.clip_claim(clip=scored_clips["a_low"], coder=coder)
    assert coding_queue.coder_next_draft_claim(coder=coder).clip.name == "a_low"
    # Adjudicated meanwhile (by a reviewer, from other coders' work): the draft is moot.
    Annotation.objects.create(
        clip=scored_clips["a_low"],
        coder=admin_user,
        status=Annotation.Status.ADJUDICATED,
        onset=46,
        offset=50,
    )
    assert coding_queue.coder_next_draft_claim(coder=coder).clip.name == "a_high"


def test_adjudicated_clips_leave_the_queue(scored_clips, coder, admin_user):
    Annotation.objects.create(
        clip=scored_clips["a_high"],
        coder=admin_user,
        status=Annotation.Status.ADJUDICATED,
        onset=46,
        offset=50,
    )
    assert "a_high" not in names(coding_selectors.clip_queue_ranked(coder=coder))


@pytest.mark.django_db(transaction=True)
def test_coders_racing_for_a_clip_on_postgresql_take_only_the_places_of_its_plan():
    """Six coders claim one clip at the same instant, each on a connection of their own: the
    clip's row lock lets exactly the two of the plan in, and the others are told why."""
    clip = ClipFactory()
    coders = [UserFactory(username=f"racer{n}", role="coder") for n in range(6)]
    start = threading.Barrier(len(coders))
    outcomes: dict[str, str] = {}

    def claim(coder) -> None:
        try:
            start.wait()
            coding_services.clip_claim(clip=clip, coder=coder)
            outcomes[coder.username] = "claimed"
        except ClaimError as refusal:
            outcomes[coder.username] = refusal.code
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(coder,)) for coder in coders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["claimed"] * 2 + ["plan_full"] * 4
    assert Annotation.objects.filter(clip=clip, status=Annotation.Status.DRAFT).count() == 2


def test_each_clip_follows_the_plan_of_its_own_dataset(coder):
    single = ClipFactory(subject=SubjectFactory(dataset=DatasetFactory(coders_per_clip=1)))
    double = ClipFactory(subject=SubjectFactory(dataset=DatasetFactory(coders_per_clip=2)))
    triple = ClipFactory(subject=SubjectFactory(dataset=DatasetFactory(coders_per_clip=3)))
    first, second = (UserFactory(username=name, role="coder") for name in ("ana", "ben"))
    for clip in (single, double, triple):
        coding_services.clip_claim(clip=clip, coder=first)
    assert set(names(coding_selectors.clip_queue_ranked(coder=coder))) == {double.name, triple.name}
    coding_services.clip_claim(clip=triple, coder=second)
    coding_services.clip_claim(clip=double, coder=second)
    assert names(coding_selectors.clip_queue_ranked(coder=coder)) == [triple.name]
    # Adjudicated: out of the queue whatever its plan says.
    Annotation.objects.create(
        clip=triple, coder=second, status=Annotation.Status.ADJUDICATED, onset=46, offset=50
    )
    assert names(coding_selectors.clip_queue_ranked(coder=coder)) == []


def test_a_clip_still_preprocessing_cannot_be_claimed(client, coder):
    pending = ClipFactory(ingest_status="pending")
    with pytest.raises(ClaimError, match="is pending, not ready") as refused:
        coding_services.clip_claim(clip=pending, coder=coder)
    assert refused.value.code == "not_ready"
    reviewer = UserFactory(username="rita", role="reviewer")
    client.force_login(reviewer)
    response = client.post(reverse("clip-code-start", args=[pending.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("clip-detail", args=[pending.pk])
    assert not Annotation.objects.filter(clip=pending).exists()


def test_releasing_a_draft_submitted_in_another_tab_says_so(coder):
    draft = coding_services.clip_claim(clip=ClipFactory(), coder=coder)
    Annotation.objects.filter(pk=draft.pk).update(status=Annotation.Status.SUBMITTED)
    with pytest.raises(ClaimError, match="no longer a draft") as refused:
        coding_services.annotation_release(annotation=draft, discard_edits=True)
    assert refused.value.code == "not_a_draft"
    assert Annotation.objects.get(pk=draft.pk).status == Annotation.Status.SUBMITTED


def test_a_released_clip_comes_back_to_its_coder_only_after_every_other(scored_clips, coder):
    draft = coding_queue.coder_next_draft_claim(coder=coder)
    assert draft.clip.name == "a_high"
    coding_services.annotation_release(annotation=draft, discard_edits=False)
    # Passed on: the next clip is another one, and the released one waits at the end.
    assert coding_queue.coder_next_draft_claim(coder=coder).clip.name == "a_mid"
    assert names(coding_selectors.clip_queue_ranked(coder=coder)) == [
        "a_mid",
        "b_mid",
        "a_low",
        "a_high",
    ]
    # Other coders' queues do not change.
    other = UserFactory(username="coder2", role="coder")
    assert names(coding_selectors.clip_queue_ranked(coder=other))[0] == "a_high"


def test_claiming_a_released_clip_again_ends_its_release(scored_clips, coder):
    draft = coding_services.clip_claim(clip=scored_clips["a_high"], coder=coder)
    coding_services.annotation_release(annotation=draft, discard_edits=False)
    assert ClipRelease.objects.filter(coder=coder).count() == 1
    coding_services.clip_claim(clip=scored_clips["a_high"], coder=coder)
    assert not ClipRelease.objects.exists()
    assert names(coding_selectors.clip_queue_ranked(coder=coder))[0] == "a_high"


def test_the_last_clip_left_is_offered_even_when_its_coder_released_it(scored_clips, coder):
    for name in ("a_mid", "a_low", "b_mid"):
        Annotation.objects.create(
            clip=scored_clips[name], coder=coder, status=Annotation.Status.SUBMITTED
        )
    draft = coding_queue.coder_next_draft_claim(coder=coder)
    assert draft.clip.name == "a_high"
    coding_services.annotation_release(annotation=draft, discard_edits=False)
    assert coding_queue.coder_next_draft_claim(coder=coder).clip.name == "a_high"
