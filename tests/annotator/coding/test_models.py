import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from annotator.models import Annotation, DatasetEmotion
from tests.factories import AnnotationFactory, ClipFactory, DatasetFactory, SubjectFactory

pytestmark = pytest.mark.django_db


def emotion(clip, name="happiness"):
    return DatasetEmotion.objects.get(dataset=clip.subject.dataset, name=name)


def errors_of(annotation) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        annotation.full_clean()
    return raised.value.message_dict


def test_valid_annotation_keeps_source_frame_numbers():
    clip = ClipFactory()
    annotation = AnnotationFactory(
        clip=clip,
        onset=46,
        apex=60,
        offset=105,
        emotion=emotion(clip),
        action_units=[{"au": 12, "laterality": "R", "intensity": "B"}, {"au": 6}],
    )
    annotation.full_clean()
    assert [str(code) for code in annotation.au_codes] == ["R12B", "6"]


@pytest.mark.parametrize(
    ("marks", "field", "message"),
    [
        ({"onset": 80, "offset": 60}, "offset", "must not come before onset"),
        ({"onset": 50, "apex": 49, "offset": 60}, "apex", "must not come before onset"),
        ({"onset": 50, "apex": 70, "offset": 60}, "apex", "must not come after offset"),
        ({"onset": 10}, "onset", "Frame 10 is not in this clip (frames 46..105)"),
        ({"offset": 106}, "offset", "Frame 106 is not in this clip"),
    ],
)
def test_marks_are_ordered_and_inside_the_clip_once_submitted(marks, field, message):
    """A draft stores the marks as typed and names the problems; submitting refuses them."""
    clip = ClipFactory()
    draft = AnnotationFactory.build(clip=clip, coder=AnnotationFactory().coder, **marks)
    draft.full_clean()
    assert any(message in text for text in draft.mark_problems()[field])
    submitted = AnnotationFactory.build(
        clip=clip,
        coder=draft.coder,
        status=Annotation.Status.SUBMITTED,
        **{"onset": 50, "offset": 60, "emotion": emotion(clip), **marks},
    )
    errors = errors_of(submitted)
    assert any(message in text for text in errors[field]), errors


def test_the_database_keeps_drafts_out_of_order_but_not_submitted_annotations():
    draft = AnnotationFactory(onset=80, offset=60)
    assert Annotation.objects.get(pk=draft.pk).onset == 80
    with pytest.raises(IntegrityError):
        Annotation.objects.filter(pk=draft.pk).update(status=Annotation.Status.SUBMITTED)


@pytest.mark.parametrize(
    ("action_unit", "message"),
    [
        ({"au": 3}, "AU3 is not in the FACS list"),
        ({"au": 99}, "AU99 is not in the FACS list"),
        ({"au": 12, "laterality": "X"}, "laterality must be one of L, R, T, B, A, U or empty"),
        ({"au": 12, "intensity": "F"}, "intensity must be one of A..E"),
        ({"laterality": "L"}, "Malformed"),
        ({"verbatim": " "}, "Malformed"),
    ],
)
def test_action_units_come_from_the_facs_sets(action_unit, message):
    annotation = AnnotationFactory.build(
        clip=ClipFactory(), coder=AnnotationFactory().coder, action_units=[action_unit]
    )
    assert any(message in text for text in errors_of(annotation)["action_units"])


def test_emotion_must_belong_to_the_clips_dataset():
    clip = ClipFactory()
    other = DatasetFactory(source_format="samm")
    annotation = AnnotationFactory.build(
        clip=clip, coder=AnnotationFactory().coder, emotion=other.emotions.get(name="anger")
    )
    assert "is not in the vocabulary" in errors_of(annotation)["emotion"][0]


def test_submitted_annotation_needs_marks_and_emotion():
    annotation = AnnotationFactory.build(
        clip=ClipFactory(), coder=AnnotationFactory().coder, status=Annotation.Status.SUBMITTED
    )
    errors = errors_of(annotation)
    assert set(errors) >= {"onset", "offset", "emotion"}
    assert "apex" not in errors  # apex may stay empty (SMIC-HS has none)


def test_one_draft_per_coder_and_clip():
    first = AnnotationFactory()
    AnnotationFactory(clip=first.clip, coder=first.coder, status=Annotation.Status.SUBMITTED)
    with pytest.raises(IntegrityError):
        AnnotationFactory(clip=first.clip, coder=first.coder)


def test_subject_code_unique_within_dataset_only():
    subject = SubjectFactory(code="01")
    SubjectFactory(code="01")  # another dataset
    with pytest.raises(IntegrityError):
        SubjectFactory(dataset=subject.dataset, code="01")


def test_clip_frame_indices_must_match_count():
    clip = ClipFactory.build(subject=SubjectFactory(), frame_indices=[3, 2], frame_count=2)
    with pytest.raises(ValidationError, match="unique and ascending"):
        clip.full_clean()


def test_default_emotion_mapping_follows_megc2019():
    dataset = DatasetFactory()
    mapping = dict(dataset.emotions.values_list("name", "composite_class"))
    assert mapping["repression"] == "negative"
    assert mapping["happiness"] == "positive"
    assert mapping["surprise"] == "surprise"
    assert mapping["others"] == "excluded"
