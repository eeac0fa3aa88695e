"""Datasets, subjects, clips and their frames, in and out."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotator.corpus import selectors as corpus_selectors
from annotator.jobs.serializers import JobRunOutputSerializer
from annotator.models import (
    Clip,
    Dataset,
    DatasetEmotion,
    clip_name_validator,
    subject_code_validator,
)


class EmotionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    composite_class = serializers.ChoiceField(choices=DatasetEmotion.CompositeClass.choices)


class DatasetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    source_format = serializers.ChoiceField(choices=Dataset.SourceFormat.choices)
    default_fps = serializers.FloatField()
    coding_mode = serializers.ChoiceField(
        choices=Dataset.CodingMode.choices,
        help_text="Blind: coders see no model proposal until they submit. Model-assisted: they do.",
    )
    coders_per_clip = serializers.IntegerField(
        help_text="How many coders the queue gives each clip to."
    )
    created_at = serializers.DateTimeField()
    subject_count = serializers.IntegerField()
    clip_count = serializers.IntegerField()
    ready_clip_count = serializers.IntegerField()
    emotions = EmotionOutputSerializer(many=True)


class SubjectOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    code = serializers.CharField()
    clip_count = serializers.IntegerField()


class ClipOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="subject.dataset_id")
    subject = serializers.IntegerField(source="subject_id")
    subject_code = serializers.CharField(source="subject.code")
    name = serializers.CharField()
    fps = serializers.FloatField()
    frame_count = serializers.IntegerField()
    frame_indices = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The source's own frame numbers (CASME II starts at img46: 46, 47, ...); "
        "onset, apex and offset use these numbers.",
    )
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    media_version = serializers.IntegerField()
    aligned_sizes = serializers.ListField(child=serializers.IntegerField())
    ingest_status = serializers.ChoiceField(choices=Clip.IngestStatus.choices)
    ingest_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ClipDetailOutputSerializer(ClipOutputSerializer):
    latest_job = serializers.SerializerMethodField()

    @extend_schema_field(JobRunOutputSerializer(allow_null=True))
    def get_latest_job(self, clip: Clip) -> dict | None:
        job_run = corpus_selectors.clip_job_run_latest(clip=clip)
        return JobRunOutputSerializer(job_run).data if job_run else None


class ClipUploadOutputSerializer(serializers.Serializer):
    clip = ClipOutputSerializer()
    job = JobRunOutputSerializer()


class FrameLayerOutputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="frame, aligned-<size> or motion")
    urls = serializers.ListField(
        child=serializers.URLField(), help_text="One JPEG URL per frame, in frame_indices order."
    )


class ClipFramesOutputSerializer(serializers.Serializer):
    clip = serializers.IntegerField()
    media_version = serializers.IntegerField()
    frame_indices = serializers.ListField(child=serializers.IntegerField())
    layers = FrameLayerOutputSerializer(many=True)

    @staticmethod
    def build(*, clip: Clip, layers: list[str], request) -> dict:
        def url(layer: str, frame: int) -> str:
            path = reverse("api-clip-media", args=[clip.pk, clip.media_version, layer, frame])
            return request.build_absolute_uri(path)

        return {
            "clip": clip.pk,
            "media_version": clip.media_version,
            "frame_indices": clip.frame_indices,
            "layers": [
                {"name": layer, "urls": [url(layer, frame) for frame in clip.frame_indices]}
                for layer in layers
            ],
        }


class ClipUploadInputSerializer(serializers.Serializer):
    dataset = serializers.PrimaryKeyRelatedField(queryset=Dataset.objects.all())
    subject_code = serializers.CharField(
        max_length=50,
        validators=[subject_code_validator],
        help_text="e.g. 01, 006, s1 (created when new)",
    )
    name = serializers.CharField(
        max_length=200,
        required=False,
        validators=[clip_name_validator],
        help_text="Defaults to the file name without extension.",
    )
    fps = serializers.FloatField(
        min_value=1.0,
        max_value=100_000.0,
        required=False,
        help_text="Videos carry their own; frame zips default to the dataset's.",
    )
    source = serializers.FileField(
        help_text="mp4, mov or avi, or a zip holding one folder of jpg/png/bmp frames"
    )


class FramesQueryInputSerializer(serializers.Serializer):
    layer = serializers.CharField(
        required=False, max_length=50, help_text="Only this layer (frame, aligned-224, motion)"
    )
