"""Demo accounts and data for `manage.py rundemo`; idempotent, so a second start reuses them."""

from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from annotator import roles
from annotator.corpus import services as corpus
from annotator.models import Clip, Dataset, DatasetEmotion, JobRun, Role, Subject
from mlcore.labels import DATASET_EMOTIONS, default_mapping
from mlcore.synth import TRUTH_NAME, generate, load_truth

DEMO_DATASET = "Demo (synthetic CASME II)"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str


DEMO_ACCOUNTS = (
    DemoAccount(username="admin", password="mestudio-admin", role=Role.ADMIN),
    DemoAccount(username="coder", password="mestudio-coder", role=Role.CODER),
    DemoAccount(username="reviewer", password="mestudio-reviewer", role=Role.REVIEWER),
    DemoAccount(username="researcher", password="mestudio-researcher", role=Role.RESEARCHER),
)


@transaction.atomic
def demo_accounts_ensure() -> tuple[DemoAccount, ...]:
    User = get_user_model()
    for account in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(username=account.username)
        if created:
            user.set_password(account.password)
            user.save()
        roles.user_role_set(user=user, role=account.role)
    return DEMO_ACCOUNTS


def demo_dataset_ensure(
    *, data_dir: Path, subjects: int = 3, clips_per_subject: int = 2
) -> tuple[Dataset, list[JobRun]]:
    """Synthetic CASME II-style clips (generated once into `data_dir`), imported like a dataset
    on disk and queued for preprocessing on the worker."""
    if not (data_dir / TRUTH_NAME).is_file():
        generate(
            out_dir=data_dir,
            layout="casme2",
            subjects=subjects,
            clips_per_subject=clips_per_subject,
            frames=60,
            seed=0,
        )
    truth = load_truth(data_dir)
    with transaction.atomic():
        dataset, _ = Dataset.objects.get_or_create(
            name=DEMO_DATASET,
            defaults={"source_format": Dataset.SourceFormat.CASME2, "default_fps": 200.0},
        )
        for emotion, composite_class in default_mapping(
            DATASET_EMOTIONS["casme2"], source_format="casme2"
        ).items():
            DatasetEmotion.objects.get_or_create(
                dataset=dataset, name=emotion, defaults={"composite_class": composite_class}
            )
        clips = []
        for item in truth["clips"]:
            subject, _ = Subject.objects.get_or_create(
                dataset=dataset, code=item["subject"].removeprefix("sub")
            )
            clip, _ = Clip.objects.get_or_create(
                subject=subject,
                name=item["clip"],
                defaults={"fps": item["fps"], "source_path": str(data_dir / item["frames_dir"])},
            )
            clips.append(clip)
        job_runs = [
            corpus.clip_preprocess_start(clip=clip, created_by=None)
            for clip in clips
            if clip.ingest_status != Clip.IngestStatus.READY
        ]
    return dataset, job_runs
