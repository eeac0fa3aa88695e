"""Model output as the inference job stores it: a model version and its proposal for a clip."""

from annotator.models import Dataset, ModelVersion, Proposal, TrainingRun


def model_version(*, active: bool = True) -> ModelVersion:
    run = TrainingRun.objects.create(selection_key="1", model_name="frl_dgt")
    return ModelVersion.objects.create(
        training_run=run,
        model_name="frl_dgt",
        checkpoint="models/x.pt",
        checkpoint_sha256="0" * 64,
        is_active=active,
    )


def propose(
    clip,
    version,
    *,
    apex: int = 58,
    interval: tuple[int, int] | None = None,
    confidence: float = 0.87,
    coding_mode: str = Dataset.CodingMode.MODEL_ASSISTED,
    action_units: dict[str, float] | None = None,
) -> Proposal:
    """The proposal, with the clip's dataset coded in `coding_mode`: model-assisted (one coder
    per clip) unless told, since only then does a coder see a proposal before submitting.
    `interval` is the proposed (onset, offset); without it the proposal is one scored before
    intervals were proposed: onset the clip's first frame, no offset. `action_units`: the AU
    head's probabilities; without them the version has no AU head."""
    Dataset.objects.filter(pk=clip.subject.dataset_id).update(
        coding_mode=coding_mode,
        coders_per_clip=1 if coding_mode == Dataset.CodingMode.MODEL_ASSISTED else 2,
    )
    clip.subject.dataset.refresh_from_db()
    return Proposal.objects.create(
        clip=clip,
        model_version=version,
        onset=interval[0] if interval else clip.first_frame,
        apex=apex,
        offset=interval[1] if interval else None,
        apex_confidence=confidence,
        probabilities={"negative": 0.12, "positive": 0.71, "surprise": 0.17},
        predicted_class="positive",
        entropy=0.8,
        margin=0.54,
        bald=0.02,
        action_units=action_units or {},
    )
