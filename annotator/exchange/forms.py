"""The import and export forms: the pages show them, and the API's import serializer validates
through DatasetImportForm, so both doors check a server path the same way."""

from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError

from annotator.errors import InvalidRequestError
from annotator.exchange import jobs
from annotator.import_roots import import_path_check
from annotator.models import Dataset


def _server_path(text: str, *, folder: bool) -> Path:
    """A path on the server that imports may read, or a ValidationError saying why not."""
    path = Path(text.strip())
    kind = "Folder" if folder else "File"
    # The roots first: a path outside them is refused before the server looks it up, so the
    # answer never tells whether something exists there.
    try:
        import_path_check(path=path)
    except InvalidRequestError as refusal:  # shown beside the form's field
        raise ValidationError(refusal.message, code=refusal.code) from None
    try:
        found = path.is_dir() if folder else path.is_file()
    except OSError as error:
        # A name too long or a folder the server may not enter is bad input, not a crash.
        raise ValidationError(
            f"The server cannot look up {path}: {error.strerror}.", code="unreadable_path"
        ) from None
    if not found:
        raise ValidationError(f"{kind} {path} not found on the server.")
    return path


class DatasetImportForm(forms.Form):
    import_format = forms.ChoiceField(
        label="Format", choices=[(name, name) for name in jobs.IMPORT_FORMATS]
    )
    annotations = forms.CharField(
        label="Annotation file on the server",
        required=False,
        help_text="CASME II or SAMM coding sheet (.xlsx) or a generic CSV; SMIC-HS has none.",
    )
    frames = forms.CharField(
        label="Frames folder on the server",
        help_text="CASME2_RAW (sub01/EP02_01f/...), SAMM (006/006_1_2/...), SMIC HS (s1/micro/...)",
    )
    dataset_name = forms.CharField(
        label="Dataset name", required=False, help_text="Default: CASME II, SAMM, SMIC-HS."
    )
    default_fps = forms.FloatField(
        label="Frame rate", required=False, min_value=1.0, help_text="Required for generic CSV."
    )
    preprocess = forms.BooleanField(label="Queue preprocessing", required=False, initial=True)
    coding_mode = forms.TypedChoiceField(
        label="Coding plan",
        choices=[
            ("", "Keep the dataset's (new: blind double coding)"),
            *Dataset.CodingMode.choices,
        ],
        required=False,
        empty_value=None,
    )
    coders_per_clip = forms.TypedChoiceField(
        label="Coders per clip",
        choices=[("", "Keep the dataset's (new: 2)"), *((n, n) for n in range(1, 11))],
        coerce=int,
        required=False,
        empty_value=None,
        help_text="How many coders the queue gives each clip to.",
    )

    def clean_frames(self) -> str:
        return str(_server_path(self.cleaned_data["frames"], folder=True))

    def clean(self):
        cleaned = super().clean()
        text = (cleaned.get("annotations") or "").strip()
        if cleaned.get("import_format") == "smic":
            cleaned["annotations"] = None
        elif not text:
            self.add_error("annotations", "This format needs its annotation file.")
        else:
            try:
                cleaned["annotations"] = str(_server_path(text, folder=False))
            except ValidationError as error:
                self.add_error("annotations", error)
        return cleaned


class CompositeExportForm(forms.Form):
    datasets = forms.ModelMultipleChoiceField(
        queryset=Dataset.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every dataset.",
    )
    min_status = forms.ChoiceField(
        label="Annotations", choices=list(jobs.MIN_STATUS_LABELS.items())
    )
    flows = forms.BooleanField(label="STSTNet optical-flow folders", required=False)
    megc2019 = forms.BooleanField(
        label="MEGC2019's official composite list",
        required=False,
        help_text="CASME II, SAMM and SMIC-HS by the published megc2019 rule, whatever the "
        "mappings say; CASME II clips whose apex is missing or equals the onset are left out. "
        "The summary lists every clip added, omitted or relabelled compared with the mappings.",
    )
