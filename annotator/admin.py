from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from annotator import roles
from annotator.coding import services as coding_services
from annotator.corpus import services as corpus
from annotator.errors import ConflictError
from annotator.learning import services as learning
from annotator.models import (
    Annotation,
    Clip,
    Coding,
    Dataset,
    DatasetEmotion,
    JobRun,
    ModelVersion,
    QueueSettings,
    Role,
    Subject,
    TrainingRun,
)


class DatasetEmotionInline(admin.TabularInline):
    model = DatasetEmotion
    extra = 0


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "source_format",
        "default_fps",
        "coding_mode",
        "coders_per_clip",
        "created_at",
    ]
    list_filter = ["source_format", "coding_mode"]
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
        corpus.clip_upload_validate(upload=upload)
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
            corpus.clip_upload(
                clip=obj, upload=form.cleaned_data["upload"], created_by=request.user
            )

    @admin.action(description="Preprocess the selected clips again")
    def reprocess(self, request, queryset):
        clips = [clip for clip in queryset if clip.source_location is not None]
        for clip in clips:
            corpus.clip_preprocess_start(clip=clip, created_by=request.user)
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
        coding_services.annotation_update(
            annotation=obj,
            revision=form.cleaned_data["opened_revision"],
            saved_by=request.user,
            coding=Coding(
                onset=obj.onset,
                apex=obj.apex,
                offset=obj.offset,
                emotion=obj.emotion,
                action_units=obj.au_entries,
                notes=obj.notes,
            ),
        )


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "queue", "status", "progress", "message", "created_at"]
    list_filter = ["kind", "status", "queue"]
    search_fields = ["message", "error"]
    readonly_fields = [f.name for f in JobRun._meta.fields]


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    """Runs start on the training page or with `manage.py train`; here they are retried or
    cancelled, never edited: their settings and scores belong to the model version they made."""

    list_display = [
        "id",
        "model_name",
        "protocol",
        "preset",
        "warm_start_from",
        "epochs",
        "min_status",
        "created_by",
        "created_at",
    ]
    list_filter = ["model_name", "protocol", "preset", "min_status"]
    search_fields = ["model_name", "selection_key", "datasets__name"]
    readonly_fields = [f.name for f in TrainingRun._meta.fields] + ["datasets"]
    actions = ["retry", "cancel"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry (resume from the last finished fold)")
    def retry(self, request, queryset):
        for training_run in queryset:
            try:
                job_run = learning.training_run_retry(
                    training_run=training_run, created_by=request.user
                )
            except ConflictError as refusal:  # still active, or finished with a model version
                self.message_user(request, f"{training_run}: {refusal.message}", messages.ERROR)
            else:
                self.message_user(request, f"{training_run}: queued again as job #{job_run.pk}.")

    @admin.action(description="Cancel")
    def cancel(self, request, queryset):
        for training_run in queryset:
            if learning.training_run_cancel(training_run=training_run):
                self.message_user(request, f"{training_run}: cancelled.")
            else:
                self.message_user(
                    request, f"{training_run}: not queued or running.", messages.WARNING
                )


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "model_name", "labelled_clips", "is_active", "created_at"]
    list_filter = ["is_active", "model_name"]
    search_fields = ["model_name", "checkpoint_sha256"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ["activate"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Activate (order the queue by its proposals)")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one model version to activate.", messages.ERROR
            )
            return
        version = queryset.get()
        job_run = learning.model_version_activate(version=version, activated_by=request.user)
        self.message_user(
            request, f"{version} is active; scoring the unlabelled clips (job #{job_run.pk})."
        )


@admin.register(QueueSettings)
class QueueSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "diversity_weight", "subject_cap", "claim_minutes"]


class UserRoleFormMixin(forms.Form):
    """One role per user instead of Django's group and permission pickers: the role decides the
    groups, staff and superuser flags together (roles.user_role_set), as on every other door."""

    role = forms.ChoiceField(
        choices=[("", "No role"), *Role.choices],
        required=False,
        help_text="Admins manage everything; the other roles are described in docs/security.md.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["role"].initial = roles.user_role(user=self.instance) or ""


class UserRoleChangeForm(UserRoleFormMixin, UserChangeForm):
    pass


class UserRoleCreationForm(UserRoleFormMixin, AdminUserCreationForm):
    pass


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class RoleUserAdmin(UserAdmin):
    form = UserRoleChangeForm
    add_form = UserRoleCreationForm
    list_display = ["username", "email", "role_name", "is_active", "last_login"]
    list_filter = ["is_active", "groups"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "email"]}),
        ("Access", {"fields": ["is_active", "role"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "usable_password", "password1", "password2", "role"],
            },
        ),
    ]

    @admin.display(description="Role")
    def role_name(self, user) -> str:
        role = roles.user_role(user=user)
        return Role(role).label if role else "—"

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        roles.user_role_set(user=obj, role=form.cleaned_data["role"] or None)
