"""The training page's forms: a new run, and how the coders' queue is ordered."""

from django import forms

from annotator.models import Dataset, QueueSettings, TrainingRun
from mlcore.models import describe_model, list_models


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
