from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from annotator import services
from annotator.models import Annotation, Clip, Dataset, DatasetEmotion, JobRun, Subject


class DatasetEmotionInline(admin.TabularInline):
    model = DatasetEmotion
    extra = 0


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "source_format", "default_fps", "created_at"]
    list_filter = ["source_format"]
    search_fields = ["name"]
    inlines = [DatasetEmotionInline]


@admin.register(DatasetEmotion)
class DatasetEmotionAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "composite_class"]
    list_filter = ["composite_class", "dataset"]
    search_fields = ["name", "dataset__name"]


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["code", "dataset"]
    list_filter = ["dataset"]
    search_fields = ["code", "dataset__name"]


class ClipUploadAdminForm(forms.ModelForm):
    upload = forms.FileField(
        help_text="A video (mp4, mov, avi) or a zip of frames; preprocessing starts on save."
    )

    class Meta:
        model = Clip
        fields = ["subject", "name", "fps"]

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        services.clip_upload_validate(upload=upload)
        return upload


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ["name", "subject", "fps", "frame_count", "ingest_status", "updated_at"]
    list_filter = ["ingest_status", "subject__dataset"]
    search_fields = ["name", "subject__code", "subject__dataset__name", "source_checksum"]
    list_select_related = ["subject__dataset"]
    readonly_fields = [
        "source",
        "source_path",
        "source_checksum",
        "frame_count",
        "frame_indices",
        "width",
        "height",
        "ingest_status",
        "ingest_error",
        "media_version",
        "preprocess_meta",
        "created_at",
        "updated_at",
    ]
    actions = ["reprocess"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ClipUploadAdminForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["subject", "name", "fps", "upload"]
        return super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            services.clip_upload(
                clip=obj, upload=form.cleaned_data["upload"], created_by=request.user
            )

    @admin.action(description="Preprocess the selected clips again")
    def reprocess(self, request, queryset):
        clips = [clip for clip in queryset if clip.source_location is not None]
        for clip in clips:
            services.clip_preprocess_start(clip=clip, created_by=request.user)
        self.message_user(request, f"Queued preprocessing of {len(clips)} clip(s).")


class AnnotationAdminForm(forms.ModelForm):
    # The revision the admin opened the form at; a save from an older revision is refused.
    opened_revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Annotation
        fields = ["clip", "coder", "onset", "apex", "offset", "emotion", "action_units", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["opened_revision"].initial = self.instance.revision

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            current = Annotation.objects.values_list("revision", flat=True).get(pk=self.instance.pk)
            if cleaned.get("opened_revision") != current:
                raise ValidationError(
                    "This annotation was changed by someone else while you edited it. "
                    "Reload the page; your edits were not saved."
                )
        return cleaned


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    form = AnnotationAdminForm
    list_display = ["clip", "coder", "onset", "apex", "offset", "emotion", "status", "revision"]
    list_filter = ["status", "provenance", "clip__subject__dataset", "emotion__composite_class"]
    search_fields = ["clip__name", "coder__username", "notes"]
    list_select_related = ["clip__subject__dataset", "coder", "emotion"]
    readonly_fields = ["status", "provenance", "revision", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        services.annotation_update(
            annotation=obj,
            revision=form.cleaned_data["opened_revision"],
            onset=obj.onset,
            apex=obj.apex,
            offset=obj.offset,
            emotion=obj.emotion,
            action_units=obj.au_codes,
            notes=obj.notes,
        )


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "queue", "status", "progress", "message", "created_at"]
    list_filter = ["kind", "status", "queue"]
    search_fields = ["message", "error"]
    readonly_fields = [f.name for f in JobRun._meta.fields]
