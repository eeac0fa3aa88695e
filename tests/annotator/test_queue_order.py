"""Next clip follows the active model version's uncertainty, caps each subject, and never hands
one clip to two coders at once."""

import pytest

from annotator import active_learning, selectors, services
from annotator.models import Annotation, ModelVersion, Proposal, QueueSettings, TrainingRun
from tests.factories import ClipFactory, SubjectFactory, UserFactory

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
    assert names(selectors.clip_queue_ranked(coder=coder)) == ["a_high", "a_mid", "b_mid", "a_low"]
    QueueSettings.objects.create(pk=1, subject_cap=1)
    assert names(selectors.clip_queue_ranked(coder=coder)) == ["a_high", "b_mid", "a_mid", "a_low"]
    QueueSettings.objects.filter(pk=1).update(strategy=QueueSettings.Strategy.SEQUENTIAL)
    # The cap applies to every strategy: one clip per subject before the second.
    queue = selectors.clip_queue_ranked(coder=coder)
    assert names(queue) == ["a_low", "b_mid", "a_high", "a_mid"]
    # Whatever the order, each clip shows its uncertainty (the active proposal's entropy).
    assert [clip.uncertainty for clip in queue] == [0.1, 0.5, 1.0, 0.9]


def test_claimed_clip_goes_to_one_coder_only(scored_clips, coder):
    other = UserFactory(username="coder2", role="coder")
    assert active_learning.coder_next_draft_claim(coder=coder).clip.name == "a_high"
    assert active_learning.coder_next_draft_claim(coder=other).clip.name == "a_mid"
    # The coder's own draft comes back first until it is submitted.
    assert active_learning.coder_next_draft_claim(coder=coder).clip.name == "a_high"
    Annotation.objects.filter(coder=coder).update(status=Annotation.Status.SUBMITTED)
    assert active_learning.coder_next_draft_claim(coder=coder).clip.name == "b_mid"


def test_an_open_draft_comes_back_first_however_low_it_ranks(scored_clips, coder, admin_user):
    services.annotation_create_draft(clip=scored_clips["a_low"], coder=coder)
    assert active_learning.coder_next_draft_claim(coder=coder).clip.name == "a_low"
    # Adjudicated meanwhile (by a reviewer, from other coders' work): the draft is moot.
    Annotation.objects.create(
        clip=scored_clips["a_low"],
        coder=admin_user,
        status=Annotation.Status.ADJUDICATED,
        onset=46,
        offset=50,
    )
    assert active_learning.coder_next_draft_claim(coder=coder).clip.name == "a_high"


def test_adjudicated_clips_leave_the_queue(scored_clips, coder, admin_user):
    Annotation.objects.create(
        clip=scored_clips["a_high"],
        coder=admin_user,
        status=Annotation.Status.ADJUDICATED,
        onset=46,
        offset=50,
    )
    assert "a_high" not in names(selectors.clip_queue_ranked(coder=coder))
