"""How the API shows a job; every domain that starts one answers with it."""

from rest_framework import serializers

from annotator.models import JobRun


class JobRunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=JobRun.Kind.choices)
    queue = serializers.CharField()
    status = serializers.ChoiceField(choices=JobRun.Status.choices)
    progress = serializers.FloatField(help_text="0..1")
    message = serializers.CharField()
    error = serializers.CharField()
    result = serializers.JSONField()
    clip = serializers.IntegerField(source="clip_id", allow_null=True)
    training_run = serializers.IntegerField(source="training_run_id", allow_null=True)
    model_version = serializers.IntegerField(source="model_version_id", allow_null=True)
    is_finished = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
