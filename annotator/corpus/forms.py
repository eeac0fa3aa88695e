"""The clip upload page's form; the upload's rules are corpus.services', at every door."""

from pathlib import Path

from django import forms

from annotator.corpus import services as corpus
from annotator.models import Clip, Dataset, Subject, subject_code_validator


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
