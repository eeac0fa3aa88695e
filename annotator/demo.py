"""Demo accounts and data for `manage.py rundemo`; idempotent, so a second start reuses them."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from annotator.models import Dataset, DatasetEmotion, Role, Subject
from mlcore.labels import DATASET_EMOTIONS, default_mapping

DEMO_DATASET = "Demo (synthetic CASME II)"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str


DEMO_ACCOUNTS = (
    DemoAccount(username="admin", password="mestudio-admin", role=Role.ADMIN),
    DemoAccount(username="coder", password="mestudio-coder", role=Role.CODER),
)


@transaction.atomic
def demo_accounts_ensure() -> tuple[DemoAccount, ...]:
    User = get_user_model()
    for account in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(username=account.username)
        if created:
            user.set_password(account.password)
        user.is_staff = user.is_superuser = account.role == Role.ADMIN
        user.save()
        user.groups.add(Group.objects.get(name=account.role))
    return DEMO_ACCOUNTS


@transaction.atomic
def demo_dataset_ensure(*, subjects: int = 3) -> Dataset:
    dataset, _ = Dataset.objects.get_or_create(
        name=DEMO_DATASET,
        defaults={"source_format": Dataset.SourceFormat.CASME2, "default_fps": 200.0},
    )
    for emotion, composite_class in default_mapping(DATASET_EMOTIONS["casme2"]).items():
        DatasetEmotion.objects.get_or_create(
            dataset=dataset, name=emotion, defaults={"composite_class": composite_class}
        )
    for number in range(1, subjects + 1):
        Subject.objects.get_or_create(dataset=dataset, code=f"{number:02d}")
    return dataset
