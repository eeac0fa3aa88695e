import factory
from django.contrib.auth import get_user_model

from annotator.models import Annotation, Clip, Dataset, DatasetEmotion, Role, Subject
from annotator.roles import user_role_set
from mlcore.labels import DATASET_EMOTIONS, default_mapping


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            user_role_set(user=self, role=extracted)


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"dataset{n}")
    source_format = Dataset.SourceFormat.CASME2
    default_fps = 200.0

    @factory.post_generation
    def emotions(self, create, extracted, **kwargs):
        if not create:
            return
        vocabulary = extracted or DATASET_EMOTIONS[self.source_format]
        for name, composite_class in default_mapping(
            vocabulary, source_format=self.source_format
        ).items():
            DatasetEmotion.objects.create(dataset=self, name=name, composite_class=composite_class)


class SubjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subject

    dataset = factory.SubFactory(DatasetFactory)
    code = factory.Sequence(lambda n: f"{n + 1:02d}")


class ClipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clip

    subject = factory.SubFactory(SubjectFactory)
    name = factory.Sequence(lambda n: f"EP{n:02d}_01f")
    fps = 200.0
    # CASME II numbering: the first frame on disk is img46.jpg.
    frame_indices = factory.LazyFunction(lambda: list(range(46, 46 + 60)))
    frame_count = factory.LazyAttribute(lambda clip: len(clip.frame_indices))
    width = 640
    height = 480
    ingest_status = Clip.IngestStatus.READY
    media_version = 1
    # What preprocessing records for a ready clip (see mlcore.preprocess).
    preprocess_meta = factory.LazyAttribute(
        lambda clip: {
            "sizes": [112, 224],
            "onset_frame": clip.frame_indices[0],
            "detector": "haar",
            "box": [200.0, 100.0, 440.0, 380.0],
        }
    )


class AnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Annotation

    clip = factory.SubFactory(ClipFactory)
    coder = factory.SubFactory(UserFactory, role=Role.CODER)


def trainable_dataset(*, subjects: int = 2, **dataset_fields) -> Dataset:
    """A dataset a training run accepts: per subject, one adjudicated clip of each composite
    class (negative, positive, surprise), on ready clips, so its snapshot can be evaluated."""
    dataset = DatasetFactory(**dataset_fields)
    per_class = {}
    for emotion in dataset.emotions.order_by("name"):
        per_class.setdefault(emotion.composite_class, emotion)
    reviewer = UserFactory(username=f"{dataset.name}-reviewer", role=Role.REVIEWER)
    for _ in range(subjects):
        subject = SubjectFactory(dataset=dataset)
        for composite_class in ("negative", "positive", "surprise"):
            AnnotationFactory(
                clip=ClipFactory(subject=subject),
                coder=reviewer,
                onset=50,
                apex=60,
                offset=80,
                emotion=per_class[composite_class],
                status=Annotation.Status.ADJUDICATED,
            )
    return dataset
