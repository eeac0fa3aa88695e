"""The workbench's autosave and submit form, and the reviewer's adjudication form."""

from collections.abc import Iterable

from django import forms

from annotator.models import Annotation, Clip, Dataset, DatasetEmotion
from mlcore.facs import AUCodeError, AUEntry, UnparsedAU, parse_au_string_keeping


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
