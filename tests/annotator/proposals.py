"""Model output as the inference job stores it: a model version and its proposal for a clip."""

from annotator.models import ModelVersion, Proposal, TrainingRun


def model_version(*, active: bool = True) -> ModelVersion:
    run = TrainingRun.objects.create(selection_key="1", model_name="frl_dgt")
    return ModelVersion.objects.create(
        training_run=run,
        model_name="frl_dgt",
        checkpoint="models/x.pt",
        checkpoint_sha256="0" * 64,
        is_active=active,
    )


def propose(clip, version, *, apex: int = 58, confidence: float = 0.87) -> Proposal:
    return Proposal.objects.create(
        clip=clip,
        model_version=version,
        onset=clip.first_frame,
        apex=apex,
        apex_confidence=confidence,
        probabilities={"negative": 0.12, "positive": 0.71, "surprise": 0.17},
        predicted_class="positive",
        entropy=0.8,
        margin=0.54,
        bald=0.02,
    )
