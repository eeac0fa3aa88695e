from collections.abc import Iterable
from pathlib import Path

from django import forms

from annotator.corpus import services as corpus
from annotator.models import (
    Annotation,
    Clip,
    Dataset,
    DatasetEmotion,
    QueueSettings,
    Subject,
    TrainingRun,
    subject_code_validator,
)
from mlcore.facs import AUCodeError, AUEntry, UnparsedAU, parse_au_string_keeping
from mlcore.models import describe_model, list_models


class ClipUploadForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.order_by("name"))
    subject_code = forms.CharField(
        max_length=50,
        label="Subject",
        help_text="e.g. 01, 006, s1",
        validators=[subject_code_validator],
    )
    name = forms.CharField(
        max_length=200, required=False, help_text="Defaults to the file name without extension."
    )
    fps = forms.FloatField(
        min_value=1.0,
        required=False,
        label="Frames per second",
        help_text="Videos carry their own; frame zips default to the dataset's.",
    )
    source = forms.FileField(
        label="Video or zip of frames",
        help_text="mp4, mov or avi, or a zip holding one folder of jpg/png/bmp frames.",
    )

    def clean_source(self):
        upload = self.cleaned_data["source"]
        corpus.clip_upload_validate(upload=upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        dataset, upload = cleaned.get("dataset"), cleaned.get("source")
        if dataset is None or upload is None or not cleaned.get("subject_code"):
            return cleaned
        # The name's rules (characters, not taken) are corpus.clip_upload's, at every door.
        cleaned["name"] = cleaned.get("name") or Path(upload.name).stem
        return cleaned

    def unsaved_clip(self) -> Clip:
        data = self.cleaned_data
        subject, _ = Subject.objects.get_or_create(
            dataset=data["dataset"], code=data["subject_code"]
        )
        return Clip(
            subject=subject, name=data["name"], fps=data["fps"] or data["dataset"].default_fps
        )


class AnnotationInputForm(forms.Form):
    """What the workbench sends on every autosave and on submit."""

    revision = forms.IntegerField(min_value=1)
    onset = forms.IntegerField(min_value=0, required=False)
    apex = forms.IntegerField(min_value=0, required=False)
    offset = forms.IntegerField(min_value=0, required=False)
    emotion = forms.ModelChoiceField(queryset=DatasetEmotion.objects.none(), required=False)
    action_units = forms.CharField(required=False, max_length=500)
    notes = forms.CharField(required=False, max_length=5000)

    def __init__(
        self, *args, dataset: Dataset, as_written: Iterable[UnparsedAU] = (), **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["emotion"].queryset = dataset.emotions.all()
        # The non-codes an imported sheet stored (`?`, `ref(7B)`): kept when sent back as shown.
        self.as_written = list(as_written)

    def clean_action_units(self) -> list[AUEntry]:
        try:
            return parse_au_string_keeping(
                self.cleaned_data["action_units"], as_written=self.as_written
            )
        except AUCodeError as error:
            raise forms.ValidationError(str(error)) from None


class AdjudicationForm(AnnotationInputForm):
    """The reviewer's final annotation; `notes` carries the adjudication comment."""

    revision = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    based_on = forms.ModelChoiceField(
        queryset=Annotation.objects.none(), required=False, label="Start from"
    )
    notes = forms.CharField(
        required=False, max_length=5000, label="Comment", widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, clip: Clip, **kwargs):
        # Any coder's, or the earlier final's, non-codes may be carried into the final.
        as_written = [
            entry
            for annotation in clip.annotations.exclude(status=Annotation.Status.DRAFT)
            for entry in annotation.au_as_written
        ]
        super().__init__(*args, dataset=clip.subject.dataset, as_written=as_written, **kwargs)
        self.fields["based_on"].queryset = clip.annotations.filter(
            status=Annotation.Status.SUBMITTED
        ).select_related("coder")
        self.fields["based_on"].label_from_instance = lambda a: f"{a.coder.username}'s annotation"


class TrainingStartForm(forms.Form):
    datasets = forms.ModelMultipleChoiceField(
        queryset=Dataset.objects.order_by("name"), widget=forms.CheckboxSelectMultiple
    )
    model_name = forms.ChoiceField(
        label="Model",
        choices=[(name, f"{name}: {describe_model(name)}") for name in list_models()],
        initial="frl_dgt",
    )
    protocol = forms.ChoiceField(choices=TrainingRun.Protocol.choices)
    preset = forms.ChoiceField(
        choices=TrainingRun._meta.get_field("preset").choices,
        initial=TrainingRun._meta.get_field("preset").default,
        help_text="cpu: a smaller model with early stopping, for workers without a GPU",
    )
    warm_start = forms.BooleanField(
        label="Start from the active version",
        required=False,
        help_text="begin from its weights instead of from scratch (same model and preset)",
    )
    epochs = forms.IntegerField(
        min_value=1, max_value=1000, initial=30, help_text="per fold (at most, with early stopping)"
    )
    min_status = forms.ChoiceField(label="Annotations", choices=TrainingRun.MinStatus.choices)
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0)


class QueueSettingsForm(forms.ModelForm):
    """Validates with the model's own limits; the view saves through the service."""

    class Meta:
        model = QueueSettings
        fields = ["strategy", "diversity_weight", "subject_cap"]
