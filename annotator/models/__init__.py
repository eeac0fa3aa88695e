"""The FACS data model, one module per domain: datasets of subjects' clips (corpus), coders'
annotations (coding), job status rows (jobs), the model in the loop (learning) and roles
(accounts). Django finds an app's models through this package, so it names each of them."""

from annotator.models.accounts import Role
from annotator.models.coding import Annotation, ClipRelease, CoderPreferences, Coding
from annotator.models.corpus import (
    Clip,
    Dataset,
    DatasetEmotion,
    Subject,
    clip_name_validator,
    subject_code_validator,
)
from annotator.models.jobs import JobRun
from annotator.models.learning import ModelVersion, Proposal, QueueSettings, TrainingRun

__all__ = [
    "Annotation",
    "Clip",
    "ClipRelease",
    "CoderPreferences",
    "Coding",
    "Dataset",
    "DatasetEmotion",
    "JobRun",
    "ModelVersion",
    "Proposal",
    "QueueSettings",
    "Role",
    "Subject",
    "TrainingRun",
    "clip_name_validator",
    "subject_code_validator",
]
